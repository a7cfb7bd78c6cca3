import assert from "node:assert/strict";
import type { Box } from "../../lib/images/image.ts";
import type { ReplyFace } from "../../lib/protocol/binary.ts";
import {
  TRACK_RULES,
  type TrackedFace,
  Tracker,
  type TrackUpdate,
  UNKNOWN,
} from "../../lib/tracking/tracker.ts";

const FPS = 30;
const THRESHOLD = 100;

/** A recognised face: a distance of 20 is a whole vote, 90 a weak one. */
function face(
  x: number,
  y: number,
  label: string,
  distance = 20,
  size = 100,
): ReplyFace {
  return { x, y, w: size, h: size, label, distance };
}

/** A face the server did not recognise (its hint said skip). */
function skipped(x: number, y: number, track: number, size = 100): ReplyFace {
  return {
    x,
    y,
    w: size,
    h: size,
    label: "",
    distance: NaN,
    track,
    recognised: false,
  };
}

/** Feeds `frames` (faces per frame, 30 fps from `start`) and returns each update. */
function run(
  tracker: Tracker,
  frames: ReplyFace[][],
  start = 0,
): TrackUpdate[] {
  return frames.map((faces, i) =>
    tracker.update(faces, { time: (start + i) / FPS, threshold: THRESHOLD })
  );
}

const names = (updates: TrackUpdate[]) =>
  updates.map((u) => u.faces.map((f) => f.name));

Deno.test("a moving face keeps one track, named at once and settled after 3 answers", () => {
  const tracker = new Tracker();
  // 300 px/s to the right and 60 px/s down, a few pixels of detector jitter.
  const frames = Array.from({ length: 40 }, (_, i) => [
    face(10 * i + (i % 3) - 1, 50 + 2 * i + (i % 2), "s1"),
  ]);
  const updates = run(tracker, frames);
  const tracks = new Set(updates.map((u) => u.faces[0].track));
  assert.deepEqual([...tracks], [1]);
  assert.deepEqual(
    updates.slice(0, 4).map((u) => [u.faces[0].name, u.faces[0].settled]),
    [["s1", false], ["s1", false], ["s1", true], ["s1", true]],
  );
  assert.ok(updates.every((u) => u.lost.length === 0));
  const last = updates.at(-1)!.faces[0];
  assert.ok(last.confidence > 0.99, `${last.confidence}`);
  // The label and distance stay this frame's answer.
  assert.equal(last.label, "s1");
  assert.equal(last.distance, 20);
  // The hint is where the face will be next: constant velocity.
  const [hint] = tracker.hints(40 / FPS);
  assert.equal(hint.track, 1);
  assert.ok(Math.abs(hint.x - 400) <= 4, `x ${hint.x}`);
  assert.ok(Math.abs(hint.y - 130) <= 3, `y ${hint.y}`);
  assert.deepEqual([hint.w, hint.h], [100, 100]);
});

Deno.test("a fast face is followed by its predicted box, not its last one", () => {
  const tracker = new Tracker();
  // 45 px per frame: the last box overlaps the next one too little (IoU < 0.3).
  const frames = Array.from(
    { length: 12 },
    (_, i) => [face(45 * i, 100, "s2")],
  );
  const updates = run(tracker, frames);
  // The first step has no speed yet: a second track may start there; from
  // then on the prediction carries it.
  const ids = updates.slice(1).map((u) => u.faces[0].track);
  assert.equal(new Set(ids).size, 1, JSON.stringify(ids));
});

Deno.test("a missed detection keeps the track; too many lose it, with its name", () => {
  const tracker = new Tracker();
  const at = (i: number) => [face(100 + 3 * i, 100, "s1")];
  const frames: ReplyFace[][] = [];
  for (let i = 0; i < 10; i++) frames.push(at(i));
  for (let i = 10; i < 15; i++) frames.push([]); // 5 frames missed
  for (let i = 15; i < 20; i++) frames.push(at(i));
  const updates = run(tracker, frames);
  assert.deepEqual(
    new Set(updates.flatMap((u) => u.faces.map((f) => f.track))),
    new Set([1]),
  );
  assert.ok(updates.every((u) => u.lost.length === 0));
  assert.equal(tracker.tracks[0].missed, 0);

  // Gone: lost after more than 10 frames (at 30 fps before 0.5 s).
  const gone = run(tracker, Array.from({ length: 12 }, () => []), 20);
  const lostAt = gone.findIndex((u) => u.lost.length > 0);
  assert.equal(lostAt, TRACK_RULES.maxMissedFrames);
  assert.deepEqual(
    { ...gone[lostAt].lost[0], box: undefined },
    {
      track: 1,
      name: "s1",
      box: undefined,
      firstSeen: 0,
      lastSeen: 19 / FPS,
    },
  );
  assert.deepEqual(tracker.tracks, []);
  // The same place later is somebody new.
  const again = run(tracker, [at(20)], 40);
  assert.equal(again[0].faces[0].track, 2);
});

Deno.test("at a low frame rate, half a second without the face loses the track", () => {
  const tracker = new Tracker();
  const slow = (i: number, faces: ReplyFace[]) =>
    tracker.update(faces, { time: i / 5, threshold: THRESHOLD });
  slow(0, [face(100, 100, "s1")]);
  assert.equal(slow(1, []).lost.length, 0);
  assert.equal(slow(2, []).lost.length, 0); // 0.4 s
  assert.equal(slow(3, []).lost.length, 1); // 0.6 s
});

Deno.test("crossing faces keep their tracks, also when one hides the other", () => {
  const tracker = new Tracker();
  const frames: ReplyFace[][] = [];
  for (let i = 0; i < 40; i++) {
    const a = face(10 * i, 100, "s1"); // left to right
    const b = face(390 - 10 * i, 130, "s2"); // right to left, a little lower
    // Around the crossing (x 195) only the front face is detected.
    frames.push(i >= 18 && i <= 21 ? [a] : [b, a]);
  }
  const updates = run(tracker, frames);
  const trackOf = (u: TrackUpdate, y: number) =>
    u.faces.find((f) => f.y === y)!;
  const aTracks = new Set(updates.map((u) => trackOf(u, 100).track));
  const bTracks = new Set(
    updates.filter((u) => u.faces.length === 2).map((u) =>
      trackOf(u, 130).track
    ),
  );
  assert.equal(aTracks.size, 1, `A: ${[...aTracks]}`);
  assert.equal(bTracks.size, 1, `B: ${[...bTracks]}`);
  assert.notDeepEqual([...aTracks], [...bTracks]);
  assert.ok(updates.every((u) => trackOf(u, 100).name === "s1"));
  assert.ok(
    updates.filter((u) => u.faces.length === 2).every((u) =>
      trackOf(u, 130).name === "s2"
    ),
  );
});

Deno.test("unsure frames keep a settled name; one wrong answer never renames it", () => {
  const tracker = new Tracker();
  const seq = [
    ...Array(5).fill("s1"),
    UNKNOWN,
    UNKNOWN, // the recogniser unsure for two frames
    "s1",
    "s2", // one wrong answer
    "s1",
    "s1",
    "s1",
  ];
  const updates = run(tracker, seq.map((label) => [face(100, 100, label)]));
  assert.deepEqual(names(updates).flat(), Array(seq.length).fill("s1"));
  // The odd answers unsettle it (so it is recognised every frame again)...
  assert.deepEqual(
    updates.map((u) => u.faces[0].settled),
    [
      false,
      false,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
      true,
    ],
  );
  // ...and it settles again after 3 agreeing answers.
});

Deno.test("sustained contrary answers rename a track within 3 frames", () => {
  const tracker = new Tracker();
  const seq = [...Array(8).fill("s1"), ...Array(5).fill("s2")];
  // s2's answers are weak (distance 85 of 100), as a new face often is.
  const updates = run(
    tracker,
    seq.map((label) => [face(100, 100, label, label === "s2" ? 85 : 20)]),
  );
  const flat = names(updates).flat();
  const switched = flat.indexOf("s2");
  assert.ok(switched >= 9 && switched <= 10, `${flat}`);
  assert.ok(flat.slice(switched).every((n) => n === "s2"));
  assert.equal(updates.at(-1)!.faces[0].track, 1, "the same track");
});

Deno.test("sustained unknown answers make a named track unknown", () => {
  const tracker = new Tracker();
  const seq = [...Array(5).fill("s3"), ...Array(10).fill(UNKNOWN)];
  const flat = names(run(tracker, seq.map((l) => [face(100, 100, l)]))).flat();
  const forgotten = flat.indexOf(UNKNOWN);
  // Survives at least 5 unsure frames, forgotten at the 6th or 7th.
  assert.ok(forgotten >= 5 + 5 && forgotten <= 5 + 6, `${flat}`);
  assert.ok(flat.slice(forgotten).every((n) => n === UNKNOWN));
});

Deno.test("a stranger stays unknown, even with a few weak wrong names", () => {
  const tracker = new Tracker();
  const seq = Array.from(
    { length: 60 },
    (_, i) => i % 7 === 3 ? "s4" : UNKNOWN,
  );
  const updates = run(
    tracker,
    seq.map((label) => [face(200, 100, label, label === UNKNOWN ? 120 : 90)]),
  );
  assert.ok(names(updates).flat().every((n) => n === UNKNOWN));
  assert.ok(updates.at(-1)!.faces[0].confidence > 0.5);
});

Deno.test("the first answers name a new face: one clear one, or a few weak ones", () => {
  const clear = run(new Tracker(), [[face(0, 0, "s1", 70)]]);
  assert.equal(clear[0].faces[0].name, "s1", "distance 70: a name at once");
  const weak = run(
    new Tracker(),
    Array.from({ length: 5 }, () => [face(0, 0, "s1", 95)]),
  );
  assert.deepEqual(names(weak).flat(), [
    UNKNOWN,
    UNKNOWN,
    UNKNOWN,
    "s1",
    "s1",
  ]);
  // Without a threshold (a version 1 reply), each answer is half a vote.
  const tracker = new Tracker();
  const plain = tracker.update([face(0, 0, "s2", 1e9)], { time: 0 });
  assert.equal(plain.faces[0].name, "s2");
});

Deno.test("hints: recognise until settled, then once a second; unknown tracks 4 times a second", () => {
  const tracker = new Tracker();
  const skips = (time: number) => tracker.hints(time).map((h) => h.skip);
  assert.deepEqual(tracker.hints(0), []);
  tracker.update([face(100, 100, "s1"), face(400, 100, UNKNOWN, 150)], {
    time: 0,
    threshold: THRESHOLD,
  });
  assert.deepEqual(skips(1 / FPS), [false, false], "new tracks");
  for (let i = 1; i < 3; i++) {
    tracker.update([face(100, 100, "s1"), face(400, 100, UNKNOWN, 150)], {
      time: i / FPS,
      threshold: THRESHOLD,
    });
  }
  // Settled at frame 2 (3 answers): both skip now.
  assert.deepEqual(skips(3 / FPS), [true, true]);
  // Frames where the server skipped them: no answer, names kept.
  for (let i = 3; i < 9; i++) {
    const update = tracker.update(
      [skipped(100, 100, 1), skipped(400, 100, 2)],
      {
        time: i / FPS,
        threshold: THRESHOLD,
      },
    );
    assert.deepEqual(update.faces.map((f) => [f.track, f.name, f.settled]), [
      [1, "s1", true],
      [2, UNKNOWN, true],
    ]);
  }
  assert.equal(tracker.tracks[0].answers, 3, "skipped faces are not votes");
  // The unknown track is due 0.25 s after its last answer (frame 2).
  assert.deepEqual(skips(9 / FPS), [true, true]);
  assert.deepEqual(skips(10 / FPS), [true, false]);
  // The named one is due 1 s after its last answer.
  assert.deepEqual(skips((2 + FPS - 1) / FPS).slice(0, 1), [true]);
  assert.deepEqual(skips((2 + FPS) / FPS).slice(0, 1), [false]);
});

Deno.test("hints: a settled face that no longer looks the same is recognised again", () => {
  const tracker = new Tracker();
  const same = new Float32Array([1, 0, 0, 0]);
  const other = new Float32Array([0, 1, 0, 0]);
  let current = same;
  const look = (_box: Box) => current;
  for (let i = 0; i < 3; i++) {
    tracker.update([face(100, 100, "s1")], {
      time: i / FPS,
      threshold: THRESHOLD,
      look,
    });
  }
  assert.deepEqual(tracker.hints(3 / FPS, { look }).map((h) => h.skip), [true]);
  current = other; // somebody else stands there now
  assert.deepEqual(tracker.hints(3 / FPS, { look }).map((h) => h.skip), [
    false,
  ]);
  // Without looks to compare, time alone decides.
  assert.deepEqual(tracker.hints(3 / FPS).map((h) => h.skip), [true]);
  // A look it cannot tell (undefined) does not force a re-check.
  assert.deepEqual(
    tracker.hints(3 / FPS, { look: () => undefined }).map((h) => h.skip),
    [true],
  );
});

Deno.test("the server's track ids come first; a face skipped for a lost track starts a new one", () => {
  const tracker = new Tracker();
  run(tracker, [[face(100, 100, "s1"), face(300, 100, "s2")]]);
  // The server says the face at 300 is track 1 (the hints overlapped so).
  const update = tracker.update(
    [{ ...face(300, 100, "s1"), track: 1, recognised: true }],
    { time: 1 / FPS, threshold: THRESHOLD },
  );
  assert.equal(update.faces[0].track, 1);
  // A skipped face whose track is gone cannot be named: a new track, unknown
  // and due for recognition.
  const orphan = tracker.update([skipped(600, 300, 77)], {
    time: 2 / FPS,
    threshold: THRESHOLD,
  });
  assert.notEqual(orphan.faces[0].track, 77);
  assert.equal(orphan.faces[0].name, UNKNOWN);
  const hint = tracker.hints(3 / FPS).find((h) =>
    h.track === orphan.faces[0].track
  );
  assert.equal(hint?.skip, false);
});

Deno.test("track ids are never 0 nor reused while alive; endAll ends every track", () => {
  const tracker = new Tracker({ rules: { maxHints: 2 } });
  const update = tracker.update(
    [face(0, 0, "a"), face(200, 0, "b"), face(400, 0, "c")],
    { time: 0, threshold: THRESHOLD },
  );
  const ids = update.faces.map((f: TrackedFace) => f.track);
  assert.deepEqual(ids, [1, 2, 3]);
  assert.equal(tracker.hints(0).length, 2, "maxHints");
  const ended = tracker.endAll();
  assert.deepEqual(ended.map((t) => [t.track, t.name]), [
    [1, "a"],
    [2, "b"],
    [3, "c"],
  ]);
  assert.deepEqual(tracker.tracks, []);
});

Deno.test("full scans: with no track, after a new or lost face, when the picture changed away from the tracks, and every 5th frame at 30 fps", () => {
  const tracker = new Tracker();
  const t = (frame: number) => frame / FPS;
  let changed = false;
  let seen: Box[] = [];
  /** Asks for frame `n`'s scan, then answers it with `faces`. */
  const frame = (n: number, faces: ReplyFace[]) => {
    const full = tracker.fullScan(t(n), {
      changedAway: (boxes) => {
        seen = boxes;
        return changed;
      },
    });
    const hints = tracker.hints(t(n), { fullScan: full });
    const answer = faces.map((f) => {
      const hint = hints.find((h) => Math.abs(h.x - f.x) < 30);
      return { ...f, track: hint?.track ?? 0 };
    });
    tracker.update(answer, { time: t(n), threshold: THRESHOLD });
    return full;
  };
  // Nobody: every frame whole.
  assert.deepEqual([0, 1, 2].map((n) => frame(n, [])), [true, true, true]);
  // A face comes: the frame after it is whole too, then 4 near the track
  // and the 5th whole.
  const one = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map((n) =>
    frame(n, [face(100 + n, 50, "s1")])
  );
  assert.deepEqual(one, [
    true,
    true,
    false,
    false,
    false,
    false,
    true,
    false,
    false,
    false,
    false,
    true,
  ]);
  // The caller is asked with the tracks' boxes where they are now.
  assert.deepEqual(seen, [{ x: 113, y: 50, w: 100, h: 100 }]);
  // Missed (the server then searched the whole frame itself): no more.
  assert.equal(frame(15, []), false);
  assert.equal(frame(16, [face(116, 50, "s1")]), false);
  assert.equal(frame(17, [face(117, 50, "s1")]), false);
  assert.equal(frame(18, [face(118, 50, "s1")]), false);
  assert.equal(frame(19, [face(119, 50, "s1")]), true);
  // The picture changed away from the tracks: whole, once it says so.
  changed = true;
  assert.equal(frame(20, [face(120, 50, "s1")]), true);
  changed = false;
  assert.equal(frame(21, [face(121, 50, "s1")]), false);
  // A second face found near the first one's track (it came close): a new
  // track, and the next frame whole.
  assert.equal(frame(22, [face(122, 50, "s1"), face(300, 50, "b")]), false);
  assert.equal(frame(23, [face(123, 50, "s1"), face(300, 50, "b")]), true);
  // Lost: whole frames until there is a track again.
  const rules = TRACK_RULES;
  let n = 24;
  for (; n < 24 + rules.maxMissedFrames; n++) frame(n, []);
  assert.equal(tracker.tracks.length, 2);
  frame(n++, []);
  assert.equal(tracker.tracks.length, 0);
  assert.equal(frame(n++, []), true);
  assert.equal(frame(n++, []), true);
  // A slower camera: 10 fps, a full scan every other frame (0.2 s apart).
  const slow = new Tracker();
  const at10 = [0, 1, 2, 3, 4, 5, 6].map((k) => {
    const full = slow.fullScan(k / 10);
    const hints = slow.hints(k / 10);
    slow.update([{ ...face(100, 50, "s1"), track: hints[0]?.track ?? 0 }], {
      time: k / 10,
    });
    return full;
  });
  assert.deepEqual(at10, [true, true, false, true, false, true, false]);
});

Deno.test("hints: a re-check goes out once per answer, and re-checks take turns, off full scans", () => {
  const tracker = new Tracker();
  const both = (i: number) =>
    tracker.update([face(100, 100, "s1"), face(400, 100, "s2")], {
      time: i / FPS,
      threshold: THRESHOLD,
    });
  for (let i = 0; i < 3; i++) both(i);
  const skips = (frame: number, fullScan = false) =>
    tracker.hints(frame / FPS, { fullScan }).map((h) => h.skip);
  assert.deepEqual(skips(3), [true, true], "settled");
  // Both due 1 s after frame 2: on a full scan, they wait.
  assert.deepEqual(skips(32, true), [true, true]);
  // One a frame; the first is not asked again while its answer is coming.
  assert.deepEqual(skips(33), [false, true]);
  assert.deepEqual(skips(34), [true, false]);
  assert.deepEqual(skips(35), [true, true]);
  // Answers in: both recognised again, so the next re-check is in 1 s.
  both(35);
  assert.deepEqual(skips(36), [true, true]);
  assert.deepEqual(skips(35 + FPS, true), [true, true]);
  assert.deepEqual(skips(36 + FPS), [false, true]);
  // An answer that never comes (the face was missed): asked again later.
  assert.deepEqual(skips(36 + FPS + 3), [true, false]);
  assert.deepEqual(skips(36 + FPS + 6), [true, true], "both still waiting");
  assert.deepEqual(skips(36 + FPS + 7), [false, true]);
  assert.deepEqual(skips(36 + FPS + 10), [true, false]);
  // Long overdue: not put off any more, even on a full scan.
  const late = new Tracker();
  for (let i = 0; i < 3; i++) {
    late.update([face(100, 100, "s1")], { time: i / FPS, threshold: 100 });
  }
  assert.deepEqual(
    late.hints((2 + FPS + 4) / FPS, { fullScan: true }).map((h) => h.skip),
    [false],
  );
});
