/**
 * Turns a detected face box into the grey patch the recogniser sees, the same
 * way for training and for recognition: crop (with an optional margin),
 * resize to a fixed size, equalise the histogram.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";

/** How faces are prepared. */
export interface FacePrepOptions {
  /** Side of the square patch in pixels (0 keeps the crop's own size). Default 100. */
  size?: number;
  /** Extra border around the box, as a fraction of its width/height. Default 0. */
  margin?: number;
  /** Equalise the histogram (OpenCV's `equalizeHist`). Default true. */
  equalize?: boolean;
}

/** The defaults used by training and by the server. */
export const DEFAULT_FACE_PREP: Required<FacePrepOptions> = {
  size: 100,
  margin: 0,
  equalize: true,
};

/** Crops `box` (grown by `margin`, clipped to the image) out of a grey image. */
export function cropGrey(
  grey: Image,
  box: Box,
  options: { margin?: number } = {},
): Image {
  if (grey.channels !== 1) throw new Error("cropGrey needs a grey image");
  const margin = options.margin ?? 0;
  const dx = Math.round(box.w * margin);
  const dy = Math.round(box.h * margin);
  const x0 = Math.max(0, box.x - dx);
  const y0 = Math.max(0, box.y - dy);
  const x1 = Math.min(grey.width, box.x + box.w + dx);
  const y1 = Math.min(grey.height, box.y + box.h + dy);
  const width = x1 - x0;
  const height = y1 - y0;
  if (width <= 0 || height <= 0) {
    throw new Error(
      `face box ${box.x},${box.y} ${box.w}x${box.h} is outside the ${grey.width}x${grey.height} image`,
    );
  }
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const start = (y0 + y) * grey.width + x0;
    data.set(grey.data.subarray(start, start + width), y * width);
  }
  return { width, height, channels: 1, data };
}

/**
 * Resizes a grey image: area averaging when shrinking (like OpenCV's
 * INTER_AREA, so that no detail aliases), bilinear interpolation when
 * growing. Not bit-exact with OpenCV, and need not be: training and
 * recognition both use this function.
 */
export function resizeGrey(grey: Image, width: number, height: number): Image {
  if (grey.channels !== 1) throw new Error("resizeGrey needs a grey image");
  if (grey.width === width && grey.height === height) return grey;
  if (width <= grey.width && height <= grey.height) {
    return shrinkArea(grey, width, height);
  }
  const out = new Uint8Array(width * height);
  const sx = grey.width / width;
  const sy = grey.height / height;
  const src = grey.data;
  const maxX = grey.width - 1;
  const maxY = grey.height - 1;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), maxY);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, maxY);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), maxX);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, maxX);
      const wx = fx - x0;
      const top = src[y0 * grey.width + x0] * (1 - wx) +
        src[y0 * grey.width + x1] * wx;
      const bottom = src[y1 * grey.width + x0] * (1 - wx) +
        src[y1 * grey.width + x1] * wx;
      out[y * width + x] = Math.round(top * (1 - wy) + bottom * wy);
    }
  }
  return { width, height, channels: 1, data: out };
}

/** Shrinks by averaging each output pixel's source area (fractional edges weighted). */
function shrinkArea(grey: Image, width: number, height: number): Image {
  // Separable: average along rows into a float buffer, then down columns.
  const columns = areaWeights(grey.width, width);
  const rows = areaWeights(grey.height, height);
  const src = grey.data;
  const across = new Float32Array(grey.height * width);
  for (let y = 0; y < grey.height; y++) {
    const row = y * grey.width;
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = columns.start[x]; k < columns.start[x + 1]; k++) {
        sum += src[row + columns.index[k]] * columns.weight[k];
      }
      across[y * width + x] = sum;
    }
  }
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let k = rows.start[y]; k < rows.start[y + 1]; k++) {
        sum += across[rows.index[k] * width + x] * rows.weight[k];
      }
      out[y * width + x] = Math.min(255, Math.round(sum));
    }
  }
  return { width, height, channels: 1, data: out };
}

/**
 * For each of `to` output positions, the source positions it covers and
 * their weights (overlap / scale, summing to 1), as flat arrays.
 */
function areaWeights(
  from: number,
  to: number,
): { start: Int32Array; index: Int32Array; weight: Float32Array } {
  const scale = from / to;
  const start = new Int32Array(to + 1);
  const index: number[] = [];
  const weight: number[] = [];
  for (let o = 0; o < to; o++) {
    start[o] = index.length;
    const lo = o * scale;
    const hi = lo + scale;
    for (let i = Math.floor(lo); i < Math.ceil(hi) && i < from; i++) {
      const w = Math.min(hi, i + 1) - Math.max(lo, i);
      if (w > 0) {
        index.push(i);
        weight.push(w / scale);
      }
    }
  }
  start[to] = index.length;
  return {
    start,
    index: Int32Array.from(index),
    weight: Float32Array.from(weight),
  };
}

/**
 * Histogram equalisation with OpenCV's `equalizeHist` lookup table, so that
 * the result equals `cv2.equalizeHist` for the same input.
 */
export function equalizeHist(grey: Image): Image {
  if (grey.channels !== 1) throw new Error("equalizeHist needs a grey image");
  const hist = new Uint32Array(256);
  const src = grey.data;
  for (let i = 0; i < src.length; i++) hist[src[i]]++;
  let first = 0;
  while (first < 255 && hist[first] === 0) first++;
  const total = src.length;
  const out = new Uint8Array(total);
  if (hist[first] === total) {
    out.fill(first);
    return { width: grey.width, height: grey.height, channels: 1, data: out };
  }
  // OpenCV computes the scale and each entry in float32 and rounds half to even.
  const scale = Math.fround(255 / (total - hist[first]));
  const lut = new Uint8Array(256);
  let sum = 0;
  for (let i = first + 1; i < 256; i++) {
    sum += hist[i];
    lut[i] = Math.min(255, roundHalfEven(Math.fround(sum * scale)));
  }
  for (let i = 0; i < total; i++) out[i] = lut[src[i]];
  return { width: grey.width, height: grey.height, channels: 1, data: out };
}

/** Rounds to the nearest integer, halves to even (C's `rint`, OpenCV's `cvRound`). */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Crops, resizes and equalises one face as set by `options`. */
export function prepareFace(
  grey: Image,
  box: Box,
  options: FacePrepOptions = {},
): Image {
  const size = options.size ?? DEFAULT_FACE_PREP.size;
  let face = cropGrey(grey, box, {
    margin: options.margin ?? DEFAULT_FACE_PREP.margin,
  });
  if (size > 0) face = resizeGrey(face, size, size);
  if (options.equalize ?? DEFAULT_FACE_PREP.equalize) face = equalizeHist(face);
  return face;
}
