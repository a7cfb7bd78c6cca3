/**
 * A face's look in a few numbers: the brightness pattern of the middle of
 * its box on a coarse grid, normalised for light. It costs a few hundred
 * pixel reads, so a client can compare every track's face in every frame
 * with how it looked when it was last recognised, and ask the server to
 * recognise it again when it looks different: somebody else now stands
 * where the track is, or the face turned.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";

/** Cells across and down the grid. */
export const LOOK_GRID = 8;

/**
 * Part of the box's width and height left out on each side: the middle of
 * a detected box is face; its edges are often background.
 */
const INSET = 0.15;

/** Samples across and down each cell, averaged. */
const SAMPLES = 2;

/**
 * The look of the face at `box` in a grey or RGB `image`: the
 * {@linkcode LOOK_GRID} x {@linkcode LOOK_GRID} cell means of the middle of
 * the box, minus their mean, scaled to unit length. Undefined when the box
 * is mostly outside the image or the patch is flat (nothing to compare).
 */
export function lookAt(image: Image, box: Box): Float32Array | undefined {
  const x0 = box.x + box.w * INSET;
  const y0 = box.y + box.h * INSET;
  const w = box.w * (1 - 2 * INSET);
  const h = box.h * (1 - 2 * INSET);
  if (
    !(w >= LOOK_GRID && h >= LOOK_GRID) || x0 < -w / 2 || y0 < -h / 2 ||
    x0 + w / 2 > image.width || y0 + h / 2 > image.height
  ) {
    return undefined;
  }
  const n = LOOK_GRID * SAMPLES;
  const { width, height, channels, data } = image;
  const look = new Float32Array(LOOK_GRID * LOOK_GRID);
  for (let sy = 0; sy < n; sy++) {
    const py = Math.min(
      height - 1,
      Math.max(0, Math.floor(y0 + (sy + 0.5) * h / n)),
    );
    for (let sx = 0; sx < n; sx++) {
      const px = Math.min(
        width - 1,
        Math.max(0, Math.floor(x0 + (sx + 0.5) * w / n)),
      );
      const at = (py * width + px) * channels;
      // Green weighs most in luminance; exact grey does not matter here.
      const v = channels === 1
        ? data[at]
        : (data[at] + 2 * data[at + 1] + data[at + 2]) / 4;
      look[Math.floor(sy / SAMPLES) * LOOK_GRID + Math.floor(sx / SAMPLES)] +=
        v;
    }
  }
  let mean = 0;
  for (const v of look) mean += v;
  mean /= look.length;
  let norm = 0;
  for (let i = 0; i < look.length; i++) {
    look[i] -= mean;
    norm += look[i] * look[i];
  }
  // A flat patch (a wall, a blown-out frame: cells within about one grey
  // level of each other) has no pattern to compare. Cells hold sums of
  // SAMPLES^2 reads.
  if (norm < look.length * SAMPLES ** 4) return undefined;
  const scale = 1 / Math.sqrt(norm);
  for (let i = 0; i < look.length; i++) look[i] *= scale;
  return look;
}

/**
 * How alike two looks are: their correlation, -1..1 (1: the same pattern
 * whatever the light).
 */
export function similarity(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}
