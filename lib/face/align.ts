/**
 * Face alignment as dlib does it for its ResNet face descriptor
 * (`get_face_chip_details` and `extract_image_chip` in dlib's
 * `image_transforms/interpolation.h`): the similarity transform (rotation,
 * uniform scale, translation) that best maps dlib's mean face shape onto a
 * face's 68 landmarks, turned into a square "face chip" with the eyes level,
 * the face at a fixed scale and `padding` of the face size around it.
 *
 * Pure TypeScript, no model: {@linkcode faceChipMapping} fits the transform,
 * {@linkcode extractChip} samples any chip mapping from a grey or RGB frame
 * (bilinear, with a 2x image pyramid when shrinking, so that large faces
 * are not aliased), {@linkcode boxMapping} gives the axis-aligned mapping
 * used to crop a box (the landmark net's input and `--no-align`).
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";

/** A point in frame pixel coordinates (pixel centres at integers). */
export interface Point {
  /** Column. */
  x: number;
  /** Row. */
  y: number;
}

/**
 * An affine map from chip pixels to frame pixels:
 * `x = a * col + b * row + tx`, `y = c * col + d * row + ty`.
 */
export interface ChipMapping {
  /** Frame x per chip column. */
  a: number;
  /** Frame x per chip row. */
  b: number;
  /** Frame x of chip pixel (0, 0). */
  tx: number;
  /** Frame y per chip column. */
  c: number;
  /** Frame y per chip row. */
  d: number;
  /** Frame y of chip pixel (0, 0). */
  ty: number;
  /** Chip side in pixels (chips are square). */
  size: number;
}

/** A similarity transform `p -> s R(angle) p + t`, as `a = s cos`, `b = s sin`. */
export interface Similarity {
  /** Scale times the cosine of the rotation. */
  a: number;
  /** Scale times the sine of the rotation. */
  b: number;
  /** Translation in x. */
  tx: number;
  /** Translation in y. */
  ty: number;
}

/** Options of {@linkcode faceChipMapping}. */
export interface FaceChipOptions {
  /** Chip side in pixels (default 150, the descriptor's input). */
  size?: number;
  /**
   * Border around the mean face, as a fraction of its size (default 0.25, what
   * dlib's `compute_face_descriptor` and face_recognition use).
   */
  padding?: number;
}

/** The ResNet descriptor's input: 150x150 chips with 0.25 padding. */
export const DESCRIPTOR_CHIP: Readonly<Required<FaceChipOptions>> = {
  size: 150,
  padding: 0.25,
};

/**
 * dlib's mean face shape: landmarks 17 to 67 of the 68-point (iBUG 300-W)
 * layout, in a unit square (x across, y down). Landmarks 0-16 (the jaw line)
 * are not part of it.
 */
export const MEAN_FACE_SHAPE: readonly (readonly [number, number])[] = (() => {
  const xs = [
    0.000213256,
    0.0752622,
    0.18113,
    0.29077,
    0.393397,
    0.586856,
    0.689483,
    0.799124,
    0.904991,
    0.98004,
    0.490127,
    0.490127,
    0.490127,
    0.490127,
    0.36688,
    0.426036,
    0.490127,
    0.554217,
    0.613373,
    0.121737,
    0.187122,
    0.265825,
    0.334606,
    0.260918,
    0.182743,
    0.645647,
    0.714428,
    0.793132,
    0.858516,
    0.79751,
    0.719335,
    0.254149,
    0.340985,
    0.428858,
    0.490127,
    0.551395,
    0.639268,
    0.726104,
    0.642159,
    0.556721,
    0.490127,
    0.423532,
    0.338094,
    0.290379,
    0.428096,
    0.490127,
    0.552157,
    0.689874,
    0.553364,
    0.490127,
    0.42689,
  ];
  const ys = [
    0.106454,
    0.038915,
    0.0187482,
    0.0344891,
    0.0773906,
    0.0773906,
    0.0344891,
    0.0187482,
    0.038915,
    0.106454,
    0.203352,
    0.307009,
    0.409805,
    0.515625,
    0.587326,
    0.609345,
    0.628106,
    0.609345,
    0.587326,
    0.216423,
    0.178758,
    0.179852,
    0.231733,
    0.245099,
    0.244077,
    0.231733,
    0.179852,
    0.178758,
    0.216423,
    0.244077,
    0.245099,
    0.780233,
    0.745405,
    0.727388,
    0.742578,
    0.727388,
    0.745405,
    0.780233,
    0.864805,
    0.902192,
    0.909281,
    0.902192,
    0.864805,
    0.784792,
    0.778746,
    0.785343,
    0.778746,
    0.784792,
    0.824182,
    0.831803,
    0.824182,
  ];
  return xs.map((x, i) => [x, ys[i]] as const);
})();

/**
 * Whether dlib fits landmark `i` (17 to 67): it leaves out the eyebrows
 * (17-26) and the lower lip (55-59, 65-67), which move with expression,
 * and keeps the nose, eyes and upper lip.
 */
function usedForFit(i: number): boolean {
  return i >= 27 && !(i >= 55 && i <= 59) && !(i >= 65 && i <= 67);
}

/**
 * The least-squares similarity transform taking `from[i]` to `to[i]` (the
 * 2-D case of Umeyama's method that dlib's `find_similarity_transform`
 * implements): minimises the sum of squared distances `|T(from) - to|^2`.
 *
 * @throws {Error} for fewer than 2 pairs, unequal lengths or coincident
 *   `from` points.
 */
export function fitSimilarity(
  from: readonly Point[],
  to: readonly Point[],
): Similarity {
  const n = from.length;
  if (n !== to.length || n < 2) {
    throw new Error(
      `fitSimilarity: need 2 or more point pairs, got ${n} and ${to.length}`,
    );
  }
  let fx = 0, fy = 0, tx = 0, ty = 0;
  for (let i = 0; i < n; i++) {
    fx += from[i].x;
    fy += from[i].y;
    tx += to[i].x;
    ty += to[i].y;
  }
  fx /= n;
  fy /= n;
  tx /= n;
  ty /= n;
  // With centred points the optimum is a = sum(f.t) / sum(f.f) and
  // b = sum(f x t) / sum(f.f); a reflection can never be better for a face.
  let dot = 0, cross = 0, norm = 0;
  for (let i = 0; i < n; i++) {
    const ux = from[i].x - fx, uy = from[i].y - fy;
    const vx = to[i].x - tx, vy = to[i].y - ty;
    dot += ux * vx + uy * vy;
    cross += ux * vy - uy * vx;
    norm += ux * ux + uy * uy;
  }
  if (!(norm > 0)) throw new Error("fitSimilarity: the from points coincide");
  const a = dot / norm;
  const b = cross / norm;
  return { a, b, tx: tx - (a * fx - b * fy), ty: ty - (b * fx + a * fy) };
}

/** Applies a similarity transform to a point. */
export function applySimilarity(t: Similarity, p: Point): Point {
  return { x: t.a * p.x - t.b * p.y + t.tx, y: t.b * p.x + t.a * p.y + t.ty };
}

/** How well 68 landmarks fit dlib's mean face shape. */
export interface ShapeFit {
  /** The fitted similarity transform, mean shape (unit square) to frame. */
  transform: Similarity;
  /** Frame pixels per mean-shape unit (about the face's width). */
  scale: number;
  /**
   * Root mean square distance between landmarks 17-67 and the fitted mean
   * shape, over `scale`: about 0.02-0.08 for faces, whatever their pose, and
   * 0.15 to 2 when the landmark net is shown something that is not a face
   * (it then answers a squashed or twisted shape).
   */
  residual: number;
}

/**
 * Fits dlib's mean face shape to landmarks 17-67 (all of them, unlike
 * {@linkcode faceChipMapping}) and says how far the landmarks are from it.
 *
 * @throws {Error} unless there are exactly 68 landmarks.
 */
export function fitMeanShape(landmarks: readonly Point[]): ShapeFit {
  if (landmarks.length !== 68) {
    throw new Error(
      `fitMeanShape: need the 68 landmarks, got ${landmarks.length}`,
    );
  }
  const from = MEAN_FACE_SHAPE.map(([x, y]) => ({ x, y }));
  const to = landmarks.slice(17);
  const transform = fitSimilarity(from, to);
  const scale = Math.hypot(transform.a, transform.b);
  let sum = 0;
  from.forEach((p, i) => {
    const q = applySimilarity(transform, p);
    sum += (q.x - to[i].x) ** 2 + (q.y - to[i].y) ** 2;
  });
  return { transform, scale, residual: Math.sqrt(sum / from.length) / scale };
}

/**
 * Where the face chip of a face with these 68 landmarks (frame coordinates)
 * lies in the frame, as dlib's `get_face_chip_details` computes it: the
 * mean face shape, padded by `padding` and scaled to `size`, fitted to
 * landmarks 27-54 and 60-64; the chip's corners are then those of a square
 * of `size` chip pixels centred on the transformed chip centre and rotated
 * by the fit's angle, with the first and last pixels on its edges (so the
 * chip's pixel step is `size / (size - 1)` of the fit's scale, as in dlib).
 *
 * @throws {Error} unless there are exactly 68 finite landmarks.
 */
export function faceChipMapping(
  landmarks: readonly Point[],
  options: FaceChipOptions = {},
): ChipMapping {
  const size = options.size ?? DESCRIPTOR_CHIP.size;
  const padding = options.padding ?? DESCRIPTOR_CHIP.padding;
  if (!Number.isInteger(size) || size < 2) {
    throw new Error(
      `faceChipMapping: size must be an integer >= 2, got ${size}`,
    );
  }
  if (!(padding >= 0)) {
    throw new Error(`faceChipMapping: padding must be >= 0, got ${padding}`);
  }
  if (landmarks.length !== 68) {
    throw new Error(
      `faceChipMapping: need the 68 landmarks, got ${landmarks.length}`,
    );
  }
  const from: Point[] = [];
  const to: Point[] = [];
  for (let i = 17; i < 68; i++) {
    if (!usedForFit(i)) continue;
    const p = landmarks[i];
    if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) {
      throw new Error(`faceChipMapping: landmark ${i} is not finite`);
    }
    const [mx, my] = MEAN_FACE_SHAPE[i - 17];
    from.push({
      x: (padding + mx) / (2 * padding + 1) * size,
      y: (padding + my) / (2 * padding + 1) * size,
    });
    to.push(p);
  }
  const t = fitSimilarity(from, to);
  const centre = applySimilarity(t, { x: size / 2, y: size / 2 });
  // The rectangle is size * scale wide; its corners map to pixels 0 and
  // size - 1.
  const step = size / (size - 1);
  const a = t.a * step, c = t.b * step;
  const b = -t.b * step, d = t.a * step;
  const half = (size - 1) / 2;
  return {
    a,
    b,
    c,
    d,
    tx: centre.x - a * half - b * half,
    ty: centre.y - c * half - d * half,
    size,
  };
}

/**
 * The axis-aligned mapping that resamples `box` (frame pixels, edges at
 * `x` and `x + w`) to a `size` x `size` chip, pixel area onto pixel area.
 */
export function boxMapping(box: Box, size: number): ChipMapping {
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`boxMapping: size must be an integer >= 1, got ${size}`);
  }
  if (!(box.w > 0 && box.h > 0)) {
    throw new Error(`boxMapping: empty box ${box.w}x${box.h}`);
  }
  const sx = box.w / size, sy = box.h / size;
  return {
    a: sx,
    b: 0,
    tx: box.x + sx / 2 - 0.5,
    c: 0,
    d: sy,
    ty: box.y + sy / 2 - 0.5,
    size,
  };
}

/** Maps a chip pixel to the frame. */
export function chipToFrame(m: ChipMapping, p: Point): Point {
  return { x: m.a * p.x + m.b * p.y + m.tx, y: m.c * p.x + m.d * p.y + m.ty };
}

/** A float RGB image: a crop of the frame, possibly shrunk by 2^level. */
interface Plane {
  width: number;
  height: number;
  data: Float32Array;
}

/**
 * Halves a float RGB plane with the [1 3 3 1] / 8 binomial filter in each
 * direction (edges repeated): output pixel `j` is centred on input
 * `2j + 0.5`. dlib shrinks with a 5-tap Gaussian instead; both only need
 * to stop aliasing before bilinear sampling.
 */
function halve(src: Plane): Plane {
  const w = src.width >> 1, h = src.height >> 1;
  const sw = src.width;
  const tmp = new Float32Array(w * src.height * 3);
  for (let y = 0; y < src.height; y++) {
    const row = y * sw * 3;
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(2 * x - 1, 0), x3 = Math.min(2 * x + 2, sw - 1);
      const i0 = row + x0 * 3, i1 = row + 2 * x * 3;
      const i2 = row + (2 * x + 1) * 3, i3 = row + x3 * 3;
      const o = (y * w + x) * 3;
      for (let k = 0; k < 3; k++) {
        tmp[o + k] = (src.data[i0 + k] + 3 * src.data[i1 + k] +
          3 * src.data[i2 + k] + src.data[i3 + k]) / 8;
      }
    }
  }
  const out = new Float32Array(w * h * 3);
  const sh = src.height;
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(2 * y - 1, 0), y3 = Math.min(2 * y + 2, sh - 1);
    const r0 = y0 * w * 3, r1 = 2 * y * w * 3;
    const r2 = (2 * y + 1) * w * 3, r3 = y3 * w * 3;
    const o = y * w * 3;
    for (let i = 0; i < w * 3; i++) {
      out[o + i] = (tmp[r0 + i] + 3 * tmp[r1 + i] + 3 * tmp[r2 + i] +
        tmp[r3 + i]) / 8;
    }
  }
  return { width: w, height: h, data: out };
}

/**
 * Samples a `m.size` x `m.size` RGB chip from a grey or RGB frame (grey is
 * copied to the 3 channels): bilinear interpolation at each chip pixel's
 * mapped position, black outside the frame (as dlib's `transform_image`).
 * When a chip pixel spans 2 or more frame pixels, the part of the frame
 * under the chip is first halved (binomial filter) until it spans 1 to 2,
 * which is dlib's pyramid rule: plain bilinear would skip pixels and alias.
 */
export function extractChip(frame: Image, m: ChipMapping): Image {
  const { width, height, channels } = frame;
  if (
    (channels !== 1 && channels !== 3) || !(width > 0 && height > 0) ||
    frame.data.length !== width * height * channels
  ) {
    throw new Error(
      `extractChip: invalid image ${width}x${height}x${channels} with ${frame.data.length} bytes`,
    );
  }
  const size = m.size;
  const scale = Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
  let levels = 0;
  while (scale / 2 ** levels >= 2) levels++;

  // The frame area under the chip, with room for the filters' reach.
  const corners = [
    chipToFrame(m, { x: 0, y: 0 }),
    chipToFrame(m, { x: size - 1, y: 0 }),
    chipToFrame(m, { x: 0, y: size - 1 }),
    chipToFrame(m, { x: size - 1, y: size - 1 }),
  ];
  const grow = 2 ** (levels + 1) + 2;
  const x0 = Math.max(
    0,
    Math.floor(Math.min(...corners.map((p) => p.x))) - grow,
  );
  const y0 = Math.max(
    0,
    Math.floor(Math.min(...corners.map((p) => p.y))) - grow,
  );
  const x1 = Math.min(
    width,
    Math.ceil(Math.max(...corners.map((p) => p.x))) + grow + 1,
  );
  const y1 = Math.min(
    height,
    Math.ceil(Math.max(...corners.map((p) => p.y))) + grow + 1,
  );
  const out = new Uint8Array(size * size * 3);
  if (x1 - x0 < 2 || y1 - y0 < 2) {
    return { width: size, height: size, channels: 3, data: out };
  }

  let plane: Plane = {
    width: x1 - x0,
    height: y1 - y0,
    data: new Float32Array(0),
  };
  plane.data = new Float32Array(plane.width * plane.height * 3);
  for (let y = y0; y < y1; y++) {
    let o = (y - y0) * plane.width * 3;
    let i = (y * width + x0) * channels;
    for (let x = x0; x < x1; x++, o += 3, i += channels) {
      const v = frame.data[i];
      plane.data[o] = v;
      plane.data[o + 1] = channels === 3 ? frame.data[i + 1] : v;
      plane.data[o + 2] = channels === 3 ? frame.data[i + 2] : v;
    }
  }
  // Each halving maps frame position p to (p - 0.5) / 2; after L levels the
  // offset is (2^L - 1) / 2.
  let used = 0;
  while (used < levels && plane.width >= 4 && plane.height >= 4) {
    plane = halve(plane);
    used++;
  }
  const f = 2 ** used;
  const shift = (f - 1) / 2;
  const a = m.a / f, b = m.b / f, c = m.c / f, d = m.d / f;
  const tx = (m.tx - x0 - shift) / f, ty = (m.ty - y0 - shift) / f;
  const pw = plane.width, ph = plane.height, src = plane.data;
  for (let row = 0, o = 0; row < size; row++) {
    for (let col = 0; col < size; col++, o += 3) {
      const x = a * col + b * row + tx;
      const y = c * col + d * row + ty;
      if (!(x >= 0 && y >= 0 && x <= pw - 1 && y <= ph - 1)) continue;
      const left = Math.min(Math.floor(x), pw - 2);
      const top = Math.min(Math.floor(y), ph - 2);
      const fx = x - left, fy = y - top;
      const i00 = (top * pw + left) * 3, i10 = i00 + 3;
      const i01 = i00 + pw * 3, i11 = i01 + 3;
      for (let k = 0; k < 3; k++) {
        const v = (1 - fy) * ((1 - fx) * src[i00 + k] + fx * src[i10 + k]) +
          fy * ((1 - fx) * src[i01 + k] + fx * src[i11 + k]);
        out[o + k] = Math.round(v);
      }
    }
  }
  return { width: size, height: size, channels: 3, data: out };
}
