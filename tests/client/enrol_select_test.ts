/**
 * The choice of enrolment faces on real frames: the fixture clip, a clip of
 * ORL person s5 made with ffmpeg, and blurred copies of both. These are the
 * measurements behind the thresholds of lib/client/_enrol_select.ts.
 */

import assert from "node:assert/strict";
import {
  FaceSelection,
  faceSharpness,
  faceThumbnail,
  SELECT_DEFAULTS,
  thumbnailDifference,
} from "../../lib/client/_enrol_select.ts";
import { cropForEnrolment } from "../../lib/client/enrol.ts";
import { decodeImage } from "../../lib/images/image_io.ts";
import {
  blurVideo,
  type DetectedFrame,
  detectedFrames,
  personVideo,
} from "../support/enrol_video.ts";

const CLIP = "tests/fixtures/clip/clip.mp4";

/** The videos, made once for all the tests of this file. */
const videos = (async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrol_select_" });
  try {
    const s5 = `${dir}/s5.mp4`;
    await personVideo(s5, { person: "s5", images: [1, 2, 3, 4, 5, 6, 7, 10] });
    await blurVideo(s5, `${dir}/s5_blur.mp4`, 2);
    await blurVideo(CLIP, `${dir}/clip_blur.mp4`, 3);
    return {
      clip: await detectedFrames(CLIP),
      clipBlurred: await detectedFrames(`${dir}/clip_blur.mp4`),
      s5: await detectedFrames(s5),
      s5Blurred: await detectedFrames(`${dir}/s5_blur.mp4`),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
})();

function sharpnesses(frames: DetectedFrame[]): number[] {
  return frames.flatMap((f) => f.boxes.map((b) => faceSharpness(f.grey, b)));
}

Deno.test("sharpness: every face of the clips passes, their blurred copies' faces do not", async () => {
  const v = await videos;
  const threshold = SELECT_DEFAULTS.minSharpness;
  for (
    const [what, sharp, blurred] of [
      ["clip", v.clip, v.clipBlurred],
      ["s5", v.s5, v.s5Blurred],
    ] as const
  ) {
    const good = sharpnesses(sharp);
    const bad = sharpnesses(blurred);
    assert.ok(good.length >= 40 && bad.length >= 40, `${what}: faces found`);
    assert.ok(
      Math.min(...good) >= threshold,
      `${what}: sharpest ${Math.min(...good)}`,
    );
    assert.ok(
      Math.max(...bad) < threshold,
      `${what} blurred: ${Math.max(...bad)}`,
    );
  }
});

Deno.test("difference: frames of one photo are near-duplicates, two photos are not", async () => {
  const { s5 } = await videos;
  const threshold = SELECT_DEFAULTS.minDifference;
  // Six frames per photo: frames 6k..6k+5 show photo k.
  const thumbs = s5.map((f) => {
    assert.equal(f.boxes.length, 1, `frame ${f.index}`);
    return faceThumbnail(f.grey, f.boxes[0]);
  });
  // Any two frames of one photo: the box moves, the view does not.
  for (let i = 0; i < thumbs.length; i++) {
    for (
      let j = i + 1;
      j < thumbs.length && j < (Math.floor(i / 6) + 1) * 6;
      j++
    ) {
      const d = thumbnailDifference(thumbs[i], thumbs[j]);
      assert.ok(d < threshold, `frames ${i}, ${j} of one photo: ${d}`);
    }
  }
  // From one photo to the next.
  for (let i = 5; i + 1 < thumbs.length; i += 6) {
    const d = thumbnailDifference(thumbs[i], thumbs[i + 1]);
    assert.ok(d >= threshold, `frames ${i}, ${i + 1}, two photos: ${d}`);
  }
  assert.equal(thumbnailDifference(thumbs[0], thumbs[0]), 0);
});

Deno.test("FaceSelection keeps one face per photo, and no blurred or double face", async () => {
  const v = await videos;
  const run = (frames: DetectedFrame[], count = 64) => {
    const selection = new FaceSelection();
    const kept: number[] = [];
    const reasons = new Map<string, number>();
    for (const f of frames) {
      if (kept.length === count) break;
      const verdict = selection.consider(f.index, f.grey, f.boxes);
      if (verdict.keep) kept.push(f.index);
      else reasons.set(verdict.reason, (reasons.get(verdict.reason) ?? 0) + 1);
    }
    assert.equal(selection.kept, kept.length);
    return { kept, reasons };
  };
  const s5 = run(v.s5);
  // 8 photos; each kept face comes from another one.
  const photos = s5.kept.map((i) => Math.floor(i / 6));
  assert.equal(new Set(photos).size, photos.length, `${s5.kept}`);
  assert.ok(s5.kept.length >= 6, `kept ${s5.kept}`);
  assert.ok((s5.reasons.get("soon") ?? 0) > 0);
  assert.ok((s5.reasons.get("duplicate") ?? 0) > 0);
  assert.deepEqual(run(v.s5, 3).kept, s5.kept.slice(0, 3));

  const blurred = run(v.s5Blurred);
  assert.deepEqual(blurred.kept, []);
  assert.ok((blurred.reasons.get("blurred") ?? 0) >= 40);

  // The clip: two people in frames 20-51, nobody in 0-7 and 52-59.
  const clip = run(v.clip);
  for (const i of clip.kept) {
    assert.equal(v.clip[i].boxes.length, 1, `frame ${i}`);
  }
  assert.ok((clip.reasons.get("faces") ?? 0) >= 40);

  const small = new FaceSelection({ minFaceSize: 300 });
  const frame = v.s5[0];
  assert.deepEqual(small.consider(0, frame.grey, frame.boxes), {
    keep: false,
    reason: "small",
  });
});

Deno.test("cropForEnrolment: the face and a quarter of it each side, cut at the frame", async () => {
  const { s5 } = await videos;
  const frame = s5[0].rgb;
  const box = s5[0].boxes[0];
  const face = cropForEnrolment(frame, box);
  const crop = decodeImage(face.jpeg);
  const margin = Math.round(box.w * 0.25);
  assert.equal(crop.width, box.w + 2 * margin);
  assert.deepEqual(face.box, { x: margin, y: margin, w: box.w, h: box.h });
  // At the corner of the frame, the crop stops at the edge.
  const corner = cropForEnrolment(frame, { x: 0, y: 0, w: 100, h: 100 });
  assert.deepEqual(corner.box, { x: 0, y: 0, w: 100, h: 100 });
  const cornerImage = decodeImage(corner.jpeg);
  assert.deepEqual([cornerImage.width, cornerImage.height], [125, 125]);
  assert.throws(
    () => cropForEnrolment(frame, { x: 700, y: 0, w: 10, h: 10 }),
    /outside/,
  );
});
