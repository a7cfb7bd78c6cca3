/**
 * What the evaluation tools share beyond scoring: the repository's paths,
 * the 640x480 frame size of the sample clip, a seeded PRNG, grey resizing
 * and pasting, and the sample clip decoded with its truth boxes.
 *
 * @module
 */

import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Box, Image } from "../lib/images/image.ts";
import type { CV } from "../lib/face/opencv.ts";

/** Frame width of samples/sample.mp4 and of the tools' made-up frames. */
export const W = 640;
/** Frame height of samples/sample.mp4 and of the tools' made-up frames. */
export const H = 480;
/** The repository's root folder. */
export const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** The annotated detection photos, as cv2-decoded grey PGMs. */
export const PHOTOS = join(ROOT, "tests/fixtures/detection");

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** cv.resize of a grey image (INTER_AREA when shrinking, else linear). */
export function resize(
  cv: CV,
  image: Image,
  size: { width: number; height: number },
): Image {
  const { width, height } = size;
  const src = new cv.Mat(image.height, image.width, cv.CV_8UC1);
  src.data.set(image.data);
  const dst = new cv.Mat();
  cv.resize(
    src,
    dst,
    new cv.Size(width, height),
    0,
    0,
    width < image.width ? cv.INTER_AREA : cv.INTER_LINEAR,
  );
  const out: Image = { width, height, channels: 1, data: dst.data.slice() };
  src.delete();
  dst.delete();
  return out;
}

/** Copies the part of grey `src` at `at` that falls inside grey `dst`. */
export function blit(
  dst: Image,
  src: Image,
  at: { x: number; y: number },
): void {
  const { x, y } = at;
  for (let j = 0; j < src.height; j++) {
    const row = y + j;
    if (row < 0 || row >= dst.height) continue;
    const from = Math.max(0, -x);
    const to = Math.min(src.width, dst.width - x);
    if (to <= from) continue;
    dst.data.set(
      src.data.subarray(j * src.width + from, j * src.width + to),
      row * dst.width + x + from,
    );
  }
}

/** The sample clip's frames, each with its truth boxes. */
export interface ClipFrames {
  /** Every decoded frame, back to back. */
  pixels: Uint8Array;
  /** Bytes per frame. */
  frameBytes: number;
  /** samples/sample_truth.json: the faces of each frame. */
  truth: { frame: number; faces: Box[] }[];
}

/** Decodes samples/sample.mp4 with ffmpeg, grey or RGB, and reads its truth. */
export async function readSampleClip(
  options: { rgb?: boolean } = {},
): Promise<ClipFrames> {
  const truth: { frame: number; faces: Box[] }[] = JSON.parse(
    await Deno.readTextFile(join(ROOT, "samples/sample_truth.json")),
  );
  const out = await new Deno.Command("ffmpeg", {
    args: [
      "-v",
      "error",
      "-i",
      join(ROOT, "samples/sample.mp4"),
      "-f",
      "rawvideo",
      "-pix_fmt",
      options.rgb ? "rgb24" : "gray",
      "-",
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("ffmpeg failed on samples/sample.mp4");
  return {
    pixels: out.stdout,
    frameBytes: W * H * (options.rgb ? 3 : 1),
    truth,
  };
}
