import assert from "node:assert/strict";
import {
  type FrameExchange,
  type FrameResult,
  jsonLine,
  runSession,
  type SessionSummary,
  summaryLines,
} from "../../lib/client/session.ts";
import type { Image } from "../../lib/images/image.ts";
import {
  decodeFrameRequest,
  encodeError,
  type Face,
  type FrameRequest,
} from "../../lib/protocol/binary.ts";

import { CLIP, CLIP_FRAMES } from "../support/clip_client.ts";
import { fakeReply, TIMINGS } from "./_fake_reply.ts";

/**
 * A server in this process: answers each request with `faces(frame number)`
 * (an RGB frame of its own when asked to draw), without any socket.
 */
function fakeServer(
  faces: (n: number) => Face[],
  options: { refuseAt?: number } = {},
): FrameExchange & { requests: FrameRequest[] } {
  const requests: FrameRequest[] = [];
  return {
    requests,
    inOutage: false,
    reconnects: 0,
    async exchange(build) {
      const request = decodeFrameRequest(await build());
      requests.push(request);
      if (requests.length - 1 === options.refuseAt) {
        return encodeError("BAD_SIZE", "no such size");
      }
      return fakeReply(request, faces(requests.length - 1), {
        frame: request.reply === "faces+frame"
          ? {
            format: "rgb24",
            width: request.width,
            height: request.height,
            pixels: new Uint8Array(request.width * request.height * 3),
          }
          : undefined,
      });
    },
    close: () => Promise.resolve(),
  };
}

function face(label: string, x = 10): Face {
  return { x, y: 20, w: 60, h: 60, label, distance: 42.123456 };
}

Deno.test("runSession sends every frame of a file in order and reports each", async () => {
  const server = fakeServer(() => [face("s1")]);
  const results: FrameResult[] = [];
  const summary = await runSession({
    input: CLIP,
    everyFrame: true,
    exchange: server,
    onFrame: (result) => results.push(result),
    log: () => {},
  });
  assert.equal(summary.frames, CLIP_FRAMES);
  assert.deepEqual(
    results.map((r) => r.frame),
    [...Array(CLIP_FRAMES).keys()],
  );
  // Nobody looks at the picture: grey goes over the wire, nothing is drawn.
  assert.ok(server.requests.every((r) => r.format === "grey8"));
  assert.ok(server.requests.every((r) => r.reply === "faces"));
  assert.deepEqual(
    server.requests.map((r) => r.frameId),
    [...Array(CLIP_FRAMES).keys()],
  );
  for (const result of results) {
    assert.deepEqual(result.server, TIMINGS);
    assert.equal(result.timings.draw, 0);
    assert.ok(result.latencyMs >= result.timings.exchange);
    assert.equal(result.requestBytes > 640 * 480, true);
  }
  assert.equal(results[0].timings.capture, 0, "ffmpeg's start is not a frame");
  assert.ok(summary.fps > 0 && summary.seconds > 0);
});

Deno.test("runSession counts frames per label, not faces", async () => {
  // Every frame: two unknown faces; every other frame: s1 too.
  const server = fakeServer((n) => [
    face("unknown", 10),
    face("unknown", 200),
    ...(n % 2 === 0 ? [face("s1", 400)] : []),
  ]);
  let reported: SessionSummary | undefined;
  const summary = await runSession({
    input: CLIP,
    everyFrame: true,
    frames: 10,
    // Each frame on its own (with tracks: tests/client/session_tracks_test.ts).
    track: false,
    exchange: server,
    onSummary: (s) => reported = s,
    log: () => {},
  });
  assert.equal(reported, summary);
  assert.equal(summary.frames, 10);
  assert.equal(summary.framesWithFaces, 10);
  assert.deepEqual(summary.seen, { unknown: 10, s1: 5 });
  const [done, json] = summaryLines(summary);
  assert.match(
    done,
    /^done: 10 frames in [\d.]+ s, [\d.]+ fps, latency p50 [\d.]+ ms, p95 [\d.]+ ms, 0 frames dropped; faces in 10 frames: unknown \(10 frames\), s1 \(5 frames\)$/,
  );
  const parsed = JSON.parse(json.replace(/^summary: /, ""));
  assert.deepEqual(parsed.seen, { unknown: 10, s1: 5 });
  assert.equal(parsed.frames_with_faces, 10);
});

Deno.test("runSession draws every frame for onPicture, or takes the server's", async (t) => {
  for (const draw of ["client", "server"] as const) {
    await t.step(`draw ${draw}`, async () => {
      const server = fakeServer(() => [face("s2")]);
      const pictures: Image[] = [];
      const results: FrameResult[] = [];
      await runSession({
        input: CLIP,
        everyFrame: true,
        frames: 3,
        draw,
        exchange: server,
        onPicture: (picture) => {
          pictures.push(picture);
        },
        onFrame: (result) => results.push(result),
        log: () => {},
      });
      assert.equal(pictures.length, 3);
      for (const picture of pictures) {
        assert.equal(picture.channels, 3);
        assert.equal(picture.data.length, 640 * 480 * 3);
      }
      const asked = server.requests.map((r) => r.reply);
      if (draw === "server") {
        assert.deepEqual(asked, ["faces+frame", "faces+frame", "faces+frame"]);
        // The fake server's frames are black: nothing was drawn here.
        assert.ok(pictures.every((p) => p.data.every((v) => v === 0)));
        assert.ok(results.every((r) => r.timings.draw === 0));
      } else {
        assert.deepEqual(asked, ["faces", "faces", "faces"]);
        assert.ok(results.every((r) => r.timings.draw > 0));
      }
    });
  }
});

Deno.test("runSession sends rgb or jpeg when asked", async () => {
  for (const [send, format] of [["rgb", "rgb24"], ["jpeg", "jpeg"]] as const) {
    const server = fakeServer(() => []);
    await runSession({
      input: CLIP,
      everyFrame: true,
      frames: 2,
      send,
      exchange: server,
      log: () => {},
    });
    assert.deepEqual(server.requests.map((r) => r.format), [format, format]);
  }
});

Deno.test("runSession ends normally when its signal aborts", async () => {
  const stop = new AbortController();
  const server = fakeServer(() => []);
  const summary = await runSession({
    input: CLIP,
    everyFrame: true,
    exchange: server,
    onFrame: (result) => {
      if (result.frame === 4) stop.abort();
    },
    signal: stop.signal,
    log: () => {},
  });
  assert.equal(summary.frames, 5);
});

Deno.test("runSession rejects a refused frame, after reporting what it did", async () => {
  const server = fakeServer(() => [face("s1")], { refuseAt: 3 });
  let reported: SessionSummary | undefined;
  await assert.rejects(
    runSession({
      input: CLIP,
      everyFrame: true,
      exchange: server,
      onSummary: (s) => reported = s,
      log: () => {},
    }),
    /^Error: the server refused the frame: BAD_SIZE: no such size$/,
  );
  assert.equal(reported?.frames, 3);
});

Deno.test("runSession fails before capture for a missing file, without a summary", async () => {
  let reported = false;
  await assert.rejects(
    runSession({
      input: "tests/fixtures/clip/no_such_clip.mp4",
      exchange: fakeServer(() => []),
      onSummary: () => reported = true,
      log: () => {},
    }),
    /no_such_clip\.mp4/,
  );
  assert.equal(reported, false);
});

Deno.test("jsonLine rounds distance and latency", () => {
  const line = jsonLine({
    frame: 12,
    faces: [face("s1")],
    latencyMs: 18.4567,
    timings: { capture: 0, encode: 0, exchange: 0, decode: 0, draw: 0 },
    server: TIMINGS,
    requestBytes: 0,
    replyBytes: 0,
  });
  assert.equal(
    line,
    '{"frame":12,"faces":[{"x":10,"y":20,"w":60,"h":60,"label":"s1","distance":42.123}],"latency_ms":18.46}',
  );
});
