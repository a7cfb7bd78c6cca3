import assert from "node:assert/strict";
import {
  ANNOUNCE_AFTER_SECONDS,
  type TrackEvent,
  TrackEvents,
} from "../../lib/events/track_events.ts";
import type { ReplyFace } from "../../lib/protocol/binary.ts";
import { Tracker, UNKNOWN } from "../../lib/tracking/tracker.ts";

const FPS = 30;
const CLOCK = new Date("2026-03-01T12:00:00.000Z");

function face(x: number, label: string, distance = 20): ReplyFace {
  return { x, y: 50, w: 100, h: 100, label, distance };
}

/** Runs frames (faces per frame) through a tracker and the events. */
function eventsOf(frames: ReplyFace[][]): TrackEvent[] {
  const tracker = new Tracker();
  const events = new TrackEvents({ camera: "door", clock: () => CLOCK });
  const all: TrackEvent[] = [];
  frames.forEach((faces, i) => {
    const time = i / FPS;
    all.push(
      ...events.frame(
        tracker.update(faces, { time, threshold: 100 }),
        time,
      ),
    );
  });
  all.push(...events.end(tracker.endAll()));
  return all;
}

const short = (events: TrackEvent[]) =>
  events.map((e) => `${e.event} ${e.name} #${e.track}`);

Deno.test("a person appears once settled and leaves when the track ends", () => {
  const frames = [
    ...Array.from({ length: 10 }, (_, i) => [face(100 + i, "s1")]),
    ...Array.from({ length: 15 }, () => []),
  ];
  const events = eventsOf(frames);
  assert.deepEqual(short(events), ["appeared s1 #1", "left s1 #1"]);
  assert.deepEqual(events[0], {
    event: "appeared",
    name: "s1",
    known: true,
    camera: "door",
    track: 1,
    time: "2026-03-01T12:00:00.000Z",
    box: { x: 102, y: 50, w: 100, h: 100 },
  });
  assert.deepEqual(events[1].box, { x: 109, y: 50, w: 100, h: 100 });
});

Deno.test("an unknown person appears and leaves as unknown; a flicker of a face makes no event", () => {
  const frames = [
    [face(400, "s4", 90)], // one frame only: a false detection
    [],
    [],
    ...Array.from({ length: 12 }, () => [face(100, UNKNOWN, 120)]),
  ];
  const events = eventsOf(frames);
  assert.deepEqual(short(events), ["appeared unknown #2", "left unknown #2"]);
  assert.equal(events[0].known, false);
});

Deno.test("somebody else in a settled track: the old name leaves, the new one appears", () => {
  const frames = [
    ...Array.from({ length: 6 }, () => [face(100, "s2")]),
    ...Array.from({ length: 6 }, () => [face(100, "s1")]),
  ];
  assert.deepEqual(short(eventsOf(frames)), [
    "appeared s2 #1",
    "left s2 #1",
    "appeared s1 #1",
    "left s1 #1",
  ]);
});

Deno.test("a track that never settles is announced after a second, with its name then", () => {
  // Answers that never agree three times in a row.
  const labels = ["s1", "s1", UNKNOWN];
  const frames = Array.from(
    { length: 45 },
    (_, i) => [face(100, labels[i % 3])],
  );
  const tracker = new Tracker();
  const events = new TrackEvents({ camera: "door", clock: () => CLOCK });
  const at: number[] = [];
  frames.forEach((faces, i) => {
    const time = i / FPS;
    const out = events.frame(
      tracker.update(faces, { time, threshold: 100 }),
      time,
    );
    if (out.length) at.push(i);
  });
  assert.deepEqual(at, [ANNOUNCE_AFTER_SECONDS * FPS]);
});

Deno.test("two people at once each get their own events", () => {
  const frames = Array.from(
    { length: 8 },
    () => [face(0, "s1"), face(300, "s2")],
  );
  assert.deepEqual(short(eventsOf(frames)), [
    "appeared s1 #1",
    "appeared s2 #2",
    "left s1 #1",
    "left s2 #2",
  ]);
});
