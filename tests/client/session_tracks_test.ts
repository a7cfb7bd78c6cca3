/**
 * The session with tracks: version 2 requests with hints, a server that
 * skips settled faces, names from the tracks in results, JSON lines, the
 * summary and the tracker updates.
 */

import assert from "node:assert/strict";
import {
  type FrameExchange,
  type FrameResult,
  jsonLine,
  runSession,
  type SessionSummary,
  summaryLines,
  type TrackUpdate,
} from "../../lib/client/session.ts";
import {
  decodeFrameRequest,
  type Face,
  type FrameRequest,
  type ReplyFace,
} from "../../lib/protocol/binary.ts";
import { matchBoxes } from "../../lib/tracking/boxes.ts";

import { CLIP } from "../support/clip_client.ts";
import { fakeReply } from "./_fake_reply.ts";

/**
 * A server in this process that speaks version 2 as the real one does:
 * `faces(n)` are the faces of frame n; a face matched to a hint with `skip`
 * is not recognised; with `tracksOnly`, a face whose centre is not within
 * half a box of a hint is not found, unless a hint has no face near it.
 * Counts the faces it recognised.
 */
function trackingServer(
  faces: (n: number) => Face[],
): FrameExchange & { requests: FrameRequest[]; recognised: number } {
  const server = {
    requests: [] as FrameRequest[],
    recognised: 0,
    inOutage: false,
    reconnects: 0,
    async exchange(build: () => Promise<Uint8Array[]> | Uint8Array[]) {
      const request = decodeFrameRequest(await build());
      const n = server.requests.length;
      server.requests.push(request);
      const hints = request.hints ?? [];
      const all = faces(n);
      const near = all.filter((f) => hints.some((h) => nearBox(h, f)));
      // Tracks only: the faces near the hints, unless a hint has none.
      const found = request.tracksOnly &&
          hints.every((h) => near.some((f) => nearBox(h, f)))
        ? near
        : all;
      const match = matchBoxes(found, hints);
      const answer: ReplyFace[] = found.map((face, i) => {
        const hint = hints[match[i]];
        if (request.version !== 2) return face;
        if (hint?.skip) {
          const { x, y, w, h } = face;
          return {
            x,
            y,
            w,
            h,
            label: "",
            distance: NaN,
            track: hint.track,
            recognised: false,
          };
        }
        return { ...face, track: hint?.track ?? 0, recognised: true };
      });
      server.recognised += answer.filter((f) => f.recognised !== false).length;
      return fakeReply(
        request,
        answer,
        request.version === 2 ? { version: 2, threshold: 100 } : {},
      );
    },
    close: () => Promise.resolve(),
  };
  return server;
}

function nearBox(hint: Face | Omit<Face, "label" | "distance">, face: Face) {
  const cx = face.x + face.w / 2;
  const cy = face.y + face.h / 2;
  return cx >= hint.x - hint.w / 2 && cx <= hint.x + hint.w * 1.5 &&
    cy >= hint.y - hint.h / 2 && cy <= hint.y + hint.h * 1.5;
}

/**
 * s1 all clip long, a stranger from frame 10 to 29, the recogniser unsure of
 * s1 once. The boxes stay on still background of the clip, so their looks do
 * not change (moving faces: tests/tracking/tracker_test.ts).
 */
function scene(n: number): Face[] {
  const faces: Face[] = [
    { x: 480, y: 10, w: 120, h: 120, label: "s1", distance: 30 },
  ];
  if (n === 25) faces[0] = { ...faces[0], label: "unknown", distance: 120 };
  if (n >= 10 && n < 30) {
    faces.push({
      x: 20,
      y: 360,
      w: 100,
      h: 100,
      label: "unknown",
      distance: 140,
    });
  }
  return faces;
}

Deno.test("with tracks: hints go out, settled faces skip the recogniser, names stay", async () => {
  const server = trackingServer(scene);
  const results: FrameResult[] = [];
  const updates: [TrackUpdate, number][] = [];
  let summary: SessionSummary | undefined;
  await runSession({
    input: CLIP,
    everyFrame: true,
    inFlight: 1,
    exchange: server,
    onFrame: (result) => results.push(result),
    onTracks: (update, time) => updates.push([update, time]),
    onSummary: (s) => summary = s,
    log: () => {},
  });
  assert.equal(results.length, 60);
  assert.ok(server.requests.every((r) => r.version === 2));
  assert.deepEqual(server.requests[0].hints, [], "no track yet");
  assert.deepEqual(server.requests[1].hints?.map((h) => h.skip), [false]);
  assert.equal(server.requests[5].hints?.[0].skip, true, "s1 settled");
  // s1 re-checked once a second, the stranger 4 times a second, plus the
  // frames before each settled: far fewer than the 80 faces.
  assert.ok(server.recognised < 30, `${server.recognised} recognised`);

  const s1 = results.map((r) => r.tracked!.find((f) => f.y === 10)!);
  assert.ok(s1.every((f) => f.track === 1 && f.name === "s1"));
  assert.ok(s1.some((f) => f.recognised === false && f.label === ""));
  // Full scans: no track yet, a face came, then at least every 5th frame,
  // after a new face, and when the picture changed away from the tracks
  // (the clip's own people move where this server shows no face); in
  // between, the server looks only around the tracks.
  const full = server.requests.map((r, i) => r.tracksOnly ? -1 : i)
    .filter((i) => i >= 0);
  assert.deepEqual(full.slice(0, 2), [0, 1]);
  full.slice(1).forEach((frame, i) => {
    assert.ok(frame - full[i] <= 5, `full scans at ${full}`);
  });
  assert.ok(full.length < 60, `${full.length} full scans in 60 frames`);
  assert.ok(
    server.requests.every((r) => !r.tracksOnly || r.hints!.length > 0),
  );
  // The stranger comes at frame 10: found by the next full scan.
  const found = full.find((frame) => frame >= 10)!;
  for (let i = 10; i < found; i++) assert.equal(results[i].faces.length, 1);
  const stranger = results.slice(found, 30).map((r) =>
    r.tracked!.find((f) => f.y === 360)!
  );
  assert.ok(stranger.every((f) => f.track === 2 && f.name === "unknown"));
  // Frame times: the frame number at 30 fps.
  assert.equal(results[30].time, 1);

  // A JSON line: this frame's answer (null when skipped), the track's name.
  const skipped = results.find((r) => r.faces[0].recognised === false)!;
  const line = JSON.parse(jsonLine(skipped));
  assert.deepEqual(
    line.faces[0],
    {
      x: 480,
      y: 10,
      w: 120,
      h: 120,
      label: null,
      distance: null,
      track: 1,
      name: "s1",
    },
  );

  // The summary: frames per name shown, and who was here for how long.
  // The stranger's frames, `found` to 29, and one more frame's time.
  const seen = 30 - found;
  const seconds = Number(((29 - found) / 30 * seen / (seen - 1)).toFixed(2));
  assert.deepEqual(summary!.seen, { s1: 60, unknown: seen });
  assert.deepEqual(
    summary!.people!.map((
      p,
    ) => [p.name, p.known, p.tracks, p.seconds.toFixed(2)]),
    [["s1", true, [1], "2.00"], [
      "unknown",
      false,
      [2],
      seconds.toFixed(2),
    ]],
  );
  const [done, json] = summaryLines(summary!);
  assert.ok(
    done.endsWith(
      `faces in 60 frames: s1 2.0 s, unknown #2 ${seconds.toFixed(1)} s`,
    ),
    done,
  );
  const parsed = JSON.parse(json.replace(/^summary: /, ""));
  assert.deepEqual(parsed.seen, { s1: 60, unknown: seen });
  assert.deepEqual(parsed.people[1], {
    name: "unknown",
    known: false,
    seconds,
    tracks: [2],
  });

  // The tracker's updates, in frame order, then every track ending.
  assert.equal(updates.length, 61);
  assert.deepEqual(updates.map(([, time]) => time).slice(0, 3), [
    0,
    1 / 30,
    2 / 30,
  ]);
  // The stranger, last seen at frame 29, is lost after 10 more frames.
  assert.deepEqual(updates[40][0].lost.map((t) => t.track), [2]);
  const lost = updates.flatMap(([u]) => u.lost.map((t) => [t.track, t.name]));
  assert.deepEqual(lost, [[2, "unknown"], [1, "s1"]]);
  assert.deepEqual(updates.at(-1)![0].faces, []);
});

Deno.test("track: false sends version 1 and names each frame on its own", async () => {
  const server = trackingServer(scene);
  const results: FrameResult[] = [];
  let summary: SessionSummary | undefined;
  await runSession({
    input: CLIP,
    everyFrame: true,
    frames: 30,
    track: false,
    exchange: server,
    onFrame: (result) => results.push(result),
    onSummary: (s) => summary = s,
    log: () => {},
  });
  assert.ok(server.requests.every((r) => r.version === undefined));
  assert.equal(server.recognised, 30 + 20);
  assert.ok(results.every((r) => r.tracked === undefined));
  assert.equal(results[25].faces[0].label, "unknown", "the unsure frame shows");
  assert.equal(summary!.people, undefined);
  assert.doesNotMatch(jsonLine(results[0]), /track|name/);
});

Deno.test("with tracks, every frame is drawn (boxes captioned with track and name)", async () => {
  const server = trackingServer(scene);
  const pictures: number[] = [];
  await runSession({
    input: CLIP,
    everyFrame: true,
    frames: 12,
    exchange: server,
    onPicture: (picture) => {
      pictures.push(picture.data.reduce((sum, v) => sum + v, 0));
    },
    log: () => {},
  });
  assert.equal(pictures.length, 12);
});
