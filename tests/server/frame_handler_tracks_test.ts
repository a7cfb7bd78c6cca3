/**
 * The frame handler's side of protocol version 2: faces matched to track
 * hints, no recognition for faces whose hint says `skip`, and detection only
 * around the hints for `tracks only`.
 */

import assert from "node:assert/strict";
import {
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";
import { loadOpenCV } from "../../lib/face/opencv.ts";
import type { Recognizer } from "../../lib/face/recognizer.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import type { Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";
import {
  decodeReply,
  encodeRequest,
  type FrameReply,
  type TrackHint,
} from "../../lib/protocol/binary.ts";
import { FrameHandler } from "../../lib/server/frame_handler.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A grey 640x480 frame with two ORL faces (AT&T / ORL) scaled 2x at x 60 and x 380. */
async function twoFaces(): Promise<Image> {
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height).fill(120);
  const files = ["s2/7.pgm", "s1/7.pgm"];
  for (const [n, file] of files.entries()) {
    const face = await readImage(`${ROOT}tests/fixtures/orl/${file}`, {
      grey: true,
    });
    const left = n === 0 ? 60 : 380;
    for (let y = 0; y < face.height * 2; y++) {
      for (let x = 0; x < face.width * 2; x++) {
        data[(100 + y) * width + left + x] =
          face.data[(y >> 1) * face.width + (x >> 1)];
      }
    }
  }
  return { width, height, channels: 1, data };
}

/** `inner`, counting the faces it is asked to describe. */
function counting(inner: Recognizer): Recognizer & { described: number } {
  const counter = { described: 0 };
  return new Proxy(inner, {
    get(target, key) {
      if (key === "described") return counter.described;
      const value = Reflect.get(target, key, target);
      if (key === "describe") {
        return (...args: Parameters<Recognizer["describe"]>) => {
          counter.described++;
          return target.describe(...args);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Recognizer & { described: number };
}

function ask(
  handler: FrameHandler,
  frame: Image,
  options: {
    hints?: TrackHint[];
    version?: 1 | 2;
    draw?: boolean;
    tracksOnly?: boolean;
  } = {},
): FrameReply {
  const handled = handler.handle(encodeRequest({
    kind: "frame",
    version: options.version ?? 2,
    format: "grey8",
    width: frame.width,
    height: frame.height,
    frameId: 3,
    timestamp: 99,
    reply: options.draw ? "faces+frame" : "faces",
    frameFormat: options.draw ? "rgb24" : undefined,
    pixels: frame.data,
    hints: options.hints,
    tracksOnly: options.tracksOnly,
  }));
  assert.ok(handled.ok, handled.error);
  const reply = decodeReply(handled.reply);
  if (reply.kind !== "reply") throw new Error(reply.message);
  return reply;
}

Deno.test("version 2: faces take their hint's track; skipped faces are not recognised", async () => {
  await loadOpenCV();
  const detector = await FaceDetector.create();
  try {
    const { recognizer: trained } = await trainFromFolder(`${ROOT}train`, {
      detector,
      onWarning: () => {},
    });
    const recognizer = counting(trained);
    const handler = new FrameHandler(detector, recognizer, {
      detect: SERVER_DETECT_OPTIONS,
    });
    const frame = await twoFaces();

    // No hints: every face recognised, no track, the threshold told.
    const plain = ask(handler, frame);
    assert.equal(plain.version, 2);
    assert.equal(plain.threshold, trained.threshold);
    assert.equal(plain.faces.length, 2, JSON.stringify(plain.faces));
    assert.equal(recognizer.described, 2);
    const [left, right] = [...plain.faces].sort((a, b) => a.x - b.x);
    assert.deepEqual(
      plain.faces.map((f) => [f.track, f.recognised]),
      [[0, true], [0, true]],
    );
    assert.equal(left.label, "s2");
    assert.ok(right.label.length > 0);

    // Hints a little off the faces, as a prediction is: the left one skips.
    const shifted = (face: typeof left, dx: number) => ({
      x: face.x + dx,
      y: face.y - 6,
      w: face.w,
      h: face.h + 4,
    });
    const before = recognizer.described;
    const hinted = ask(handler, frame, {
      hints: [
        { track: 7, ...shifted(right, -15), skip: false },
        { track: 5, ...shifted(left, 12), skip: true },
        { track: 9, x: 0, y: 0, w: 30, h: 30, skip: true }, // nobody there
      ],
    });
    assert.equal(recognizer.described - before, 1, "only the right face");
    const byTrack = new Map(hinted.faces.map((f) => [f.track, f]));
    assert.deepEqual([...byTrack.keys()].sort(), [5, 7]);
    const skipped = byTrack.get(5)!;
    assert.equal(skipped.recognised, false);
    assert.equal(skipped.label, "");
    assert.ok(Number.isNaN(skipped.distance));
    assert.deepEqual(
      [skipped.x, skipped.y, skipped.w, skipped.h],
      [left.x, left.y, left.w, left.h],
      "the detected box, not the hint's",
    );
    assert.equal(byTrack.get(7)!.recognised, true);
    assert.equal(byTrack.get(7)!.label, right.label);
    assert.ok(hinted.timings.recognise < plain.timings.recognise * 0.9 + 1);

    // A hint overlapping a face too little (IoU < 0.3) matches nothing.
    const far = ask(handler, frame, {
      hints: [{
        track: 1,
        ...shifted(left, Math.round(left.w * 0.6)),
        skip: true,
      }],
    });
    assert.deepEqual(far.faces.map((f) => f.track), [0, 0]);
    assert.ok(far.faces.every((f) => f.recognised));

    // Drawing a skipped face works (it is labelled with its track).
    const drawn = ask(handler, frame, {
      hints: [{ ...shifted(left, 0), track: 5, skip: true }],
      draw: true,
    });
    assert.equal(drawn.frame?.format, "rgb24");

    // Version 1 is answered in version 1: no threshold, no tracks.
    const old = ask(handler, frame, { version: 1 });
    assert.equal(old.version, undefined);
    assert.equal(old.threshold, undefined);
    assert.deepEqual(
      old.faces,
      plain.faces.map(({ track: _t, recognised: _r, ...f }) => f),
    );
  } finally {
    detector.close();
  }
});

Deno.test("version 2 tracks only: faces are looked for around the hints, or in the whole frame when one is missing", async () => {
  await loadOpenCV();
  const detector = await FaceDetector.create();
  try {
    const { recognizer } = await trainFromFolder(`${ROOT}train`, {
      detector,
      onWarning: () => {},
    });
    const handler = new FrameHandler(detector, recognizer, {
      detect: SERVER_DETECT_OPTIONS,
    });
    const frame = await twoFaces();
    const full = ask(handler, frame);
    assert.equal(full.faces.length, 2);
    const [left, right] = [...full.faces].sort((a, b) => a.x - b.x);
    // Only the left face's track, a little off as a prediction is.
    const near = ask(handler, frame, {
      hints: [{
        track: 4,
        x: left.x + 10,
        y: left.y - 8,
        w: left.w,
        h: left.h,
        skip: false,
      }],
      tracksOnly: true,
    });
    assert.equal(near.faces.length, 1, JSON.stringify(near.faces));
    const [found] = near.faces;
    assert.equal(found.track, 4);
    assert.equal(found.label, left.label);
    assert.ok(
      Math.abs(found.x - left.x) <= left.w / 10 &&
        Math.abs(found.w - left.w) <= left.w / 10,
      `${JSON.stringify(found)} vs ${JSON.stringify(left)}`,
    );
    // Both hints, the right one skipped: both found, one recognised.
    const both = ask(handler, frame, {
      hints: [
        { track: 4, ...box(left), skip: false },
        { track: 6, ...box(right), skip: true },
      ],
      tracksOnly: true,
    });
    assert.deepEqual(
      both.faces.map((f) => [f.track, f.recognised]).sort(),
      [[4, true], [6, false]],
    );
    // A hint whose face is not near it (it moved, or left): the whole frame
    // is searched, as without tracks only.
    const gone = ask(handler, frame, {
      hints: [
        { track: 4, ...box(left), skip: true },
        { track: 2, x: 250, y: 300, w: 100, h: 100, skip: false },
      ],
      tracksOnly: true,
    });
    assert.deepEqual(
      gone.faces.map((f) => [f.x, f.track, f.recognised]).sort(),
      [[left.x, 4, false], [right.x, 0, true]].sort(),
    );
  } finally {
    detector.close();
  }
});

function box(b: { x: number; y: number; w: number; h: number }) {
  return { x: b.x, y: b.y, w: b.w, h: b.h };
}
