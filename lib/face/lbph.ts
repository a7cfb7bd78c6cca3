/**
 * Local Binary Patterns Histograms (LBPH) face recognition, written to give
 * the same numbers as OpenCV's `cv::face::LBPHFaceRecognizer`
 * (opencv_contrib, `modules/face/src/lbph_faces.cpp`):
 *
 * - {@linkcode elbp}: the circular ("extended") LBP operator with bilinear
 *   interpolation, in OpenCV's float32 arithmetic;
 * - {@linkcode spatialHistogram}: one histogram of `2^neighbors` bins per grid
 *   cell, scaled by the cell area, concatenated into one float32 row;
 * - {@linkcode chiSquareAlt}: `compareHist(..., HISTCMP_CHISQR_ALT)`;
 * - {@linkcode LbphRecognizer}: 1-nearest-neighbour prediction with OpenCV's
 *   threshold rule (label -1 and distance `Number.MAX_VALUE` when no training
 *   face is nearer than the threshold), and facezmq's
 *   {@linkcode Recognizer}: a face at a box of a frame is prepared by
 *   lib/face/face_prep.ts (crop, resize, equalise) before its histogram.
 *
 * One module, longer than most, on purpose: it is OpenCV's lbph_faces.cpp
 * function for function, so that a reader can check it against OpenCV's
 * source side by side (and the oracle tests check it bit for bit).
 *
 * @module
 */

import { type Box, type Image, toGrey } from "../images/image.ts";
import {
  DEFAULT_FACE_PREP,
  type FacePrepOptions,
  prepareFace,
} from "./face_prep.ts";
import type {
  DescribeOptions,
  Nearest,
  PackedRecognizer,
  Recognizer,
  RecognizerOptions,
} from "./recognizer.ts";

/** `std::numeric_limits<float>::epsilon()`. */
const FLT_EPSILON = 1.1920928955078125e-7;
/** `DBL_EPSILON`. */
const DBL_EPSILON = 2.220446049250313e-16;
/** The largest number of neighbours accepted (65536 histogram bins per cell). */
const MAX_NEIGHBORS = 16;

/** Parameters of the LBPH recogniser; the defaults are OpenCV's. */
export interface LbphOptions {
  /** Radius of the circle the neighbours are sampled on (default 1). */
  radius?: number;
  /** Number of sample points on the circle, 1 to 16 (default 8). */
  neighbors?: number;
  /** Number of grid cells across (default 8). */
  gridX?: number;
  /** Number of grid cells down (default 8). */
  gridY?: number;
  /**
   * Distances at or above this give label -1 (default `Number.MAX_VALUE`,
   * OpenCV's `DBL_MAX`, that is no threshold).
   */
  threshold?: number;
  /**
   * How {@linkcode LbphRecognizer.describe} prepares the face at a box
   * (default {@linkcode DEFAULT_FACE_PREP}). Not part of OpenCV's model
   * file: a loaded model prepares faces the default way.
   */
  prep?: FacePrepOptions;
}

/** The answer for one face. */
export interface Prediction {
  /** The label of the nearest training face, or -1 for unknown. */
  label: number;
  /**
   * The chi-square distance to that face; `Number.MAX_VALUE` when the label
   * is -1 because of the threshold (as OpenCV reports it).
   */
  distance: number;
}

/** An LBP code image: `width * height` codes, row after row. */
export interface LbpImage {
  /** Width: the face width minus twice the radius. */
  width: number;
  /** Height: the face height minus twice the radius. */
  height: number;
  /** One code per pixel, each below `2^neighbors`. */
  data: Int32Array;
}

/** Options of {@linkcode elbp}. */
export interface ElbpOptions {
  /** Circle radius (default 1). */
  radius?: number;
  /** Sample points on the circle (default 8). */
  neighbors?: number;
}

/** Options of {@linkcode spatialHistogram}. */
export interface SpatialHistogramOptions {
  /** Sample points used for the codes: the histograms have `2^neighbors` bins (default 8). */
  neighbors?: number;
  /** Grid cells across (default 8). */
  gridX?: number;
  /** Grid cells down (default 8). */
  gridY?: number;
}

function checkInteger(
  name: string,
  value: number,
  min: number,
  max: number,
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(
      `LBPH: ${name} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
  return value;
}

function checkFace(face: Image, what: string): void {
  if (
    face === null || typeof face !== "object" ||
    !(face.data instanceof Uint8Array)
  ) {
    throw new Error(`LBPH: ${what} is not an Image`);
  }
  if (face.channels !== 1) {
    throw new Error(
      `LBPH: ${what} must be a grey image (1 channel), got ${face.channels} channels; convert it with toGrey() first`,
    );
  }
  if (
    !Number.isInteger(face.width) || !Number.isInteger(face.height) ||
    face.width < 1 || face.height < 1 ||
    face.data.length !== face.width * face.height
  ) {
    throw new Error(
      `LBPH: ${what} has inconsistent size ${face.width}x${face.height} for ${face.data.length} bytes`,
    );
  }
}

/**
 * The extended (circular) local binary pattern of a grey face, exactly as
 * OpenCV's `elbp_<uchar>`: sample points at angle `2πn/neighbors` on a
 * circle of `radius`, bilinear interpolation with float32 weights, bit `n`
 * set when the interpolated value is greater than the centre or within
 * `FLT_EPSILON` of it. The result is `2 * radius` smaller in each direction.
 */
export function elbp(face: Image, options: ElbpOptions = {}): LbpImage {
  checkFace(face, "face");
  const radius = checkInteger("radius", options.radius ?? 1, 1, 1000);
  const neighbors = checkInteger(
    "neighbors",
    options.neighbors ?? 8,
    1,
    MAX_NEIGHBORS,
  );
  const srcW = face.width;
  const srcH = face.height;
  const width = srcW - 2 * radius;
  const height = srcH - 2 * radius;
  if (width < 1 || height < 1) {
    throw new Error(
      `LBPH: a ${srcW}x${srcH} face is too small for radius ${radius}`,
    );
  }
  const src = face.data;
  const dst = new Int32Array(width * height);
  const fround = Math.fround;
  for (let n = 0; n < neighbors; n++) {
    // float x = (float)(radius * cos(2.0*CV_PI*n/(float)neighbors)), same for y.
    const angle = 2.0 * Math.PI * n / neighbors;
    const x = fround(radius * Math.cos(angle));
    const y = fround(-radius * Math.sin(angle));
    const fx = Math.floor(x);
    const fy = Math.floor(y);
    const cx = Math.ceil(x);
    const cy = Math.ceil(y);
    const ty = fround(y - fy);
    const tx = fround(x - fx);
    const w1 = fround(fround(1 - tx) * fround(1 - ty));
    const w2 = fround(tx * fround(1 - ty));
    const w3 = fround(fround(1 - tx) * ty);
    const w4 = fround(tx * ty);
    accumulateNeighbor(src, dst, srcW, srcH, radius, {
      w1,
      w2,
      w3,
      w4,
      o1: fy * srcW + fx,
      o2: fy * srcW + cx,
      o3: cy * srcW + fx,
      o4: cy * srcW + cx,
      bit: 1 << n,
    });
  }
  return { width, height, data: dst };
}

/** Interpolation weights, pixel offsets and code bit of one sample point. */
interface Neighbor {
  w1: number;
  w2: number;
  w3: number;
  w4: number;
  o1: number;
  o2: number;
  o3: number;
  o4: number;
  bit: number;
}

/**
 * The inner loop of `elbp_` for one sample point (a function of its own so
 * that V8 optimises it once instead of re-entering an OSR'd loop per call).
 */
function accumulateNeighbor(
  src: Uint8Array,
  dst: Int32Array,
  srcW: number,
  srcH: number,
  radius: number,
  nb: Neighbor,
): void {
  const fround = Math.fround;
  const { w1, w2, w3, w4, o1, o2, o3, o4, bit } = nb;
  let k = 0;
  for (let i = radius; i < srcH - radius; i++) {
    let p = i * srcW + radius;
    for (let j = radius; j < srcW - radius; j++, p++, k++) {
      // float t = w1*a + w2*b + w3*c + w4*d, each step rounded to float32.
      const t = fround(
        fround(
          fround(fround(w1 * src[p + o1]) + fround(w2 * src[p + o2])) +
            fround(w3 * src[p + o3]),
        ) + fround(w4 * src[p + o4]),
      );
      const c = src[p];
      if (t > c || Math.abs(fround(t - c)) < FLT_EPSILON) dst[k] += bit;
    }
  }
}

/**
 * OpenCV's `spatial_histogram`: the LBP image is cut into `gridX * gridY`
 * cells of `floor(width / gridX) x floor(height / gridY)` codes (the
 * remainder at the right and bottom is ignored), each cell's histogram of
 * `2^neighbors` bins is scaled by the float32 reciprocal of the cell area,
 * and the cells are concatenated row by row.
 */
export function spatialHistogram(
  lbp: LbpImage,
  options: SpatialHistogramOptions = {},
): Float32Array {
  const neighbors = checkInteger(
    "neighbors",
    options.neighbors ?? 8,
    1,
    MAX_NEIGHBORS,
  );
  const gridX = checkInteger("gridX", options.gridX ?? 8, 1, 10000);
  const gridY = checkInteger("gridY", options.gridY ?? 8, 1, 10000);
  const bins = 2 ** neighbors;
  const out = new Float32Array(gridX * gridY * bins);
  const cellW = Math.floor(lbp.width / gridX);
  const cellH = Math.floor(lbp.height / gridY);
  if (cellW < 1 || cellH < 1) {
    throw new Error(
      `LBPH: a ${lbp.width}x${lbp.height} LBP image cannot be cut into a ${gridX}x${gridY} grid; use a larger face or a smaller grid`,
    );
  }
  // OpenCV: calcHist counts in float, then `result /= (int)total` which is
  // convertTo(..., scale = 1.0/total): a float32 scale, one float32 multiply.
  const scale = Math.fround(1 / (cellW * cellH));
  const data = lbp.data;
  const counts = new Int32Array(bins);
  let cellStart = 0;
  for (let gy = 0; gy < gridY; gy++) {
    for (let gx = 0; gx < gridX; gx++) {
      counts.fill(0);
      for (let r = gy * cellH; r < (gy + 1) * cellH; r++) {
        const rowStart = r * lbp.width;
        for (let c = gx * cellW; c < (gx + 1) * cellW; c++) {
          const code = data[rowStart + c];
          if (code >= 0 && code < bins) counts[code]++;
        }
      }
      for (let b = 0; b < bins; b++) {
        out[cellStart + b] = counts[b] * scale; // stored as float32
      }
      cellStart += bins;
    }
  }
  return out;
}

/**
 * OpenCV's `compareHist(a, b, HISTCMP_CHISQR_ALT)`:
 * `2 * Σ (a-b)² / (a+b)` over the bins where `|a+b| > DBL_EPSILON`, with the
 * differences and sums taken in float32 and the rest in double, bin by bin.
 * `aOffset` lets `a` be a row inside a larger array of `b.length` values.
 */
export function chiSquareAlt(
  a: Float32Array,
  b: Float32Array,
  aOffset = 0,
): number {
  const len = b.length;
  if (aOffset < 0 || aOffset + len > a.length) {
    throw new Error(
      `LBPH: histograms of different sizes (${
        a.length - aOffset
      } and ${len} bins)`,
    );
  }
  const fround = Math.fround;
  let result = 0;
  for (let j = 0; j < len; j++) {
    const x = a[aOffset + j];
    const y = b[j];
    const s = fround(x + y);
    if (s > DBL_EPSILON || s < -DBL_EPSILON) {
      const d = fround(x - y);
      result += d * d / s;
    }
  }
  return result * 2;
}

/**
 * The LBPH face recogniser. Train it with grey faces (all the same size is
 * not required, but the same size as the faces to predict is what makes
 * sense), then `predict` gives the label of the nearest training face. As a
 * {@linkcode Recognizer} it describes the face at a box of a frame, prepared
 * as `prep` says.
 */
export class LbphRecognizer implements Recognizer {
  /** Always `lbph`. */
  readonly kind = "lbph" as const;
  /** LBPH works on grey pixels. */
  readonly channels = 1 as const;
  /** LBP circle radius. */
  readonly radius: number;
  /** LBP sample points. */
  readonly neighbors: number;
  /** Grid cells across. */
  readonly gridX: number;
  /** Grid cells down. */
  readonly gridY: number;
  /** How {@linkcode LbphRecognizer.describe} prepares a face. */
  readonly prep: Readonly<Required<FacePrepOptions>>;
  /** Distances at or above this give label -1. */
  threshold: number;
  /** The label of each training histogram, in training order. */
  labels: number[] = [];
  /** Names of people by label (OpenCV's `labelsInfo`). */
  labelNames: Map<number, string> = new Map();
  /** Floats per histogram: `gridX * gridY * 2^neighbors`. */
  readonly histogramSize: number;
  #store: Float32Array = new Float32Array(0);
  #count = 0;
  /** Whether every stored value is 0 or a finite number above DBL_EPSILON. */
  #regular = true;
  #totals: Float64Array = new Float64Array(0); // sum of each stored histogram

  /** Creates an empty recogniser; the defaults are OpenCV's. */
  constructor(options: LbphOptions = {}) {
    this.radius = checkInteger("radius", options.radius ?? 1, 1, 1000);
    this.neighbors = checkInteger(
      "neighbors",
      options.neighbors ?? 8,
      1,
      MAX_NEIGHBORS,
    );
    this.gridX = checkInteger("gridX", options.gridX ?? 8, 1, 10000);
    this.gridY = checkInteger("gridY", options.gridY ?? 8, 1, 10000);
    const threshold = options.threshold ?? Number.MAX_VALUE;
    if (typeof threshold !== "number" || Number.isNaN(threshold)) {
      throw new Error(`LBPH: threshold must be a number, got ${threshold}`);
    }
    this.threshold = threshold;
    this.histogramSize = this.gridX * this.gridY * 2 ** this.neighbors;
    const prep = options.prep ?? {};
    this.prep = checkPrep({
      size: prep.size ?? DEFAULT_FACE_PREP.size,
      margin: prep.margin ?? DEFAULT_FACE_PREP.margin,
      equalize: prep.equalize ?? DEFAULT_FACE_PREP.equalize,
    });
  }

  /** Floats per descriptor: {@linkcode LbphRecognizer.histogramSize}. */
  get descriptorSize(): number {
    return this.histogramSize;
  }

  /**
   * The parameters as {@linkcode PackedRecognizer.params} holds them
   * ({@linkcode createLbphRecognizer} reads them back).
   */
  get params(): Record<string, number> {
    return {
      radius: this.radius,
      neighbors: this.neighbors,
      gridX: this.gridX,
      gridY: this.gridY,
      faceSize: this.prep.size,
      faceMargin: this.prep.margin,
      equalize: this.prep.equalize ? 1 : 0,
    };
  }

  /** Number of training histograms. */
  get size(): number {
    return this.#count;
  }

  /**
   * The training histograms, in training order (views into one contiguous
   * array: do not modify them).
   */
  get histograms(): Float32Array[] {
    const out: Float32Array[] = [];
    const n = this.histogramSize;
    for (let i = 0; i < this.#count; i++) {
      out.push(this.#store.subarray(i * n, (i + 1) * n));
    }
    return out;
  }

  /**
   * The histogram of the face at `box`: cropped, resized and equalised as
   * `prep` says, or in `whole` mode the whole frame as given. An RGB frame
   * is made grey first (OpenCV's weights). Never null: a histogram cannot
   * tell a face from anything else.
   */
  describe(
    frame: Image,
    box: Box,
    options: DescribeOptions = {},
  ): Float32Array {
    const grey = toGrey(frame);
    return this.histogram(
      options.whole ? grey : prepareFace(grey, box, this.prep),
    );
  }

  /** {@linkcode chiSquareAlt}, OpenCV's distance between two histograms. */
  distance(a: Float32Array, b: Float32Array): number {
    if (a.length !== b.length) {
      throw new Error(
        `LBPH: histograms of different sizes (${a.length} and ${b.length} bins)`,
      );
    }
    return chiSquareAlt(a, b);
  }

  /** {@linkcode LbphRecognizer.addHistograms}, the {@linkcode Recognizer} way. */
  add(descriptors: readonly Float32Array[], labels: readonly number[]): void {
    this.addHistograms(descriptors, labels);
  }

  /** Parameters, threshold, histograms, labels and names in one object. */
  pack(): PackedRecognizer {
    return {
      kind: this.kind,
      params: this.params,
      threshold: this.threshold,
      descriptors: this.#store.slice(0, this.#count * this.histogramSize),
      labels: [...this.labels],
      names: [...this.labelNames],
    };
  }

  /** The spatial LBP histogram of one grey face with this recogniser's parameters. */
  histogram(face: Image): Float32Array {
    const lbp = elbp(face, { radius: this.radius, neighbors: this.neighbors });
    return spatialHistogram(lbp, {
      neighbors: this.neighbors,
      gridX: this.gridX,
      gridY: this.gridY,
    });
  }

  /**
   * Forgets all training data, then learns `faces` (grey Images) with their
   * `labels` (integers). Names in `labelNames` are kept.
   */
  train(faces: Image[], labels: number[]): void {
    const histograms = this.#histogramsOf(faces, labels, "train");
    this.#count = 0;
    this.#regular = true;
    this.labels = [];
    this.addHistograms(histograms, labels);
  }

  /** Adds `faces` with their `labels` to what was learned before. */
  update(faces: Image[], labels: number[]): void {
    const histograms = this.#histogramsOf(faces, labels, "update");
    this.addHistograms(histograms, labels);
  }

  /**
   * Adds precomputed histograms (as stored in a model file) with their
   * labels. Each must have `histogramSize` values.
   */
  addHistograms(
    histograms: readonly Float32Array[],
    labels: readonly number[],
  ): void {
    if (histograms.length !== labels.length) {
      throw new Error(
        `LBPH: ${histograms.length} histograms but ${labels.length} labels`,
      );
    }
    const n = this.histogramSize;
    histograms.forEach((h, i) => {
      if (!(h instanceof Float32Array) || h.length !== n) {
        throw new Error(
          `LBPH: histogram ${i} has ${h?.length} values, expected ${n} (gridX * gridY * 2^neighbors)`,
        );
      }
    });
    labels.forEach((label, i) => checkLabel(label, i));
    const needed = (this.#count + histograms.length) * n;
    if (needed > this.#store.length) {
      const grown = new Float32Array(Math.max(needed, this.#store.length * 2));
      grown.set(this.#store.subarray(0, this.#count * n));
      this.#store = grown;
    }
    if (this.#count + histograms.length > this.#totals.length) {
      const grown = new Float64Array(
        Math.max(this.#count + histograms.length, this.#totals.length * 2),
      );
      grown.set(this.#totals.subarray(0, this.#count));
      this.#totals = grown;
    }
    for (let i = 0; i < histograms.length; i++) {
      this.#store.set(histograms[i], (this.#count + i) * n);
      if (!isRegular(histograms[i])) this.#regular = false;
      let total = 0;
      for (let j = 0; j < n; j++) total += histograms[i][j];
      this.#totals[this.#count + i] = total;
    }
    this.#count += histograms.length;
    this.labels.push(...labels);
  }

  /**
   * The label of the nearest training face, as OpenCV's `predict`: the first
   * of equal minimum distances wins, and only distances below `threshold`
   * count; when none does the answer is label -1 with distance
   * `Number.MAX_VALUE`.
   */
  predict(face: Image): Prediction {
    return this.predictHistogram(this.histogram(face));
  }

  /** {@linkcode LbphRecognizer.predict} for a histogram computed before. */
  predictHistogram(query: Float32Array): Prediction {
    const best = this.nearestHistogram(query);
    if (best.distance < this.threshold) return best;
    return { label: -1, distance: Number.MAX_VALUE };
  }

  /**
   * The nearest training face whatever the threshold (its label and
   * distance), useful to choose a threshold.
   */
  nearest(face: Image): Prediction {
    return this.nearestHistogram(this.histogram(face));
  }

  /** {@linkcode LbphRecognizer.nearest} for a histogram computed before. */
  nearestHistogram(query: Float32Array): Prediction {
    return this.nearestTwo(query).best;
  }

  /**
   * The nearest training face (`best`, exactly as
   * {@linkcode LbphRecognizer.nearestHistogram}) and the nearest face of any
   * other label (`runnerUp`, within 1e-12 relative of OpenCV's sum; null when
   * there is only one label). How much closer the best is than the runner-up
   * tells a clear match from an ambiguous one.
   */
  nearestTwo(query: Float32Array): Nearest {
    if (this.#count === 0) {
      throw new Error(
        "LBPH: the recogniser has no training data; train it or load a model first",
      );
    }
    const n = this.histogramSize;
    if (query.length !== n) {
      throw new Error(
        `LBPH: the query histogram has ${query.length} values, expected ${n}`,
      );
    }
    const store = this.#store;
    const count = this.#count;
    const labels = this.labels;
    const distances = this.#regular && isRegular(query)
      ? this.#sparseDistances(query)
      : this.distancesOf(query); // unusual values: OpenCV's loop as written
    let bestDistance = Number.MAX_VALUE;
    for (let i = 0; i < count; i++) {
      if (distances[i] < bestDistance) bestDistance = distances[i];
    }
    // The winner, and any face within rounding of it, get OpenCV's exact
    // sum: the answer is bit for bit OpenCV's, first of equal minima included.
    const limit = bestDistance * (1 + 1e-12) + 1e-300;
    let bestLabel = -1;
    bestDistance = Number.MAX_VALUE;
    for (let i = 0; i < count; i++) {
      if (distances[i] > limit) continue;
      const exact = chiSquareAlt(store, query, i * n);
      if (exact < bestDistance) {
        bestDistance = exact;
        bestLabel = labels[i];
      }
    }
    let runnerUp: Prediction | null = null;
    for (let i = 0; i < count; i++) {
      if (labels[i] === bestLabel) continue;
      if (runnerUp === null || distances[i] < runnerUp.distance) {
        runnerUp = { label: labels[i], distance: distances[i] };
      }
    }
    return { best: { label: bestLabel, distance: bestDistance }, runnerUp };
  }

  /**
   * Sparse search: only the query's non-empty bins need the full term; every
   * bin where the query is empty adds x*x/x = x, so those add up to the
   * stored histogram's total minus its values at the query's bins. Equal to
   * OpenCV's sum within rounding (about 1e-15 relative).
   */
  #sparseDistances(query: Float32Array): Float64Array {
    const n = this.histogramSize;
    const store = this.#store;
    const count = this.#count;
    const { index, values } = nonEmptyBins(query);
    const m = index.length;
    const totals = this.#totals;
    const out = new Float64Array(count);
    const f32 = scratch;
    for (let i = 0, base = 0; i < count; i++, base += n) {
      let sum = totals[i];
      for (let k = 0; k < m; k++) {
        const x = store[base + index[k]];
        const y = values[k];
        f32[0] = x + y;
        f32[1] = x - y;
        const d = f32[1];
        sum += d * d / f32[0] - x;
      }
      out[i] = sum * 2;
    }
    return out;
  }

  /** OpenCV's exact distance from a query histogram to every training face. */
  distancesOf(query: Float32Array): Float64Array {
    const n = this.histogramSize;
    const out = new Float64Array(this.#count);
    for (let i = 0; i < this.#count; i++) {
      out[i] = chiSquareAlt(this.#store, query, i * n);
    }
    return out;
  }

  /** The distance from `face` to every training face, in training order. */
  distances(face: Image): Float64Array {
    return this.distancesOf(this.histogram(face));
  }

  #histogramsOf(faces: Image[], labels: number[], what: string) {
    if (!Array.isArray(faces) || !Array.isArray(labels)) {
      throw new Error(`LBPH ${what}: faces and labels must be arrays`);
    }
    if (faces.length === 0) {
      throw new Error(`LBPH ${what}: no faces given`);
    }
    if (faces.length !== labels.length) {
      throw new Error(
        `LBPH ${what}: ${faces.length} faces but ${labels.length} labels`,
      );
    }
    labels.forEach((label, i) => checkLabel(label, i));
    return faces.map((face, i) => {
      checkFace(face, `face ${i}`);
      return this.histogram(face);
    });
  }
}

/** float32 rounding by a store: steadier in V8 than Math.fround in hot loops. */
const scratch = new Float32Array(2);

/** The indices and values of a histogram's non-empty bins. */
function nonEmptyBins(
  h: Float32Array,
): { index: Int32Array; values: Float64Array } {
  let m = 0;
  for (let i = 0; i < h.length; i++) if (h[i] !== 0) m++;
  const index = new Int32Array(m);
  const values = new Float64Array(m);
  for (let i = 0, k = 0; i < h.length; i++) {
    if (h[i] !== 0) {
      index[k] = i;
      values[k++] = h[i];
    }
  }
  return { index, values };
}

/** Whether every value is 0 or finite and above DBL_EPSILON (always so for computed histograms). */
function isRegular(h: Float32Array): boolean {
  for (let i = 0; i < h.length; i++) {
    const v = h[i];
    if (v !== 0 && !(v > DBL_EPSILON && v < Infinity)) return false;
  }
  return true;
}

function checkLabel(label: number, index: number): void {
  if (!Number.isInteger(label) || label < -2147483648 || label > 2147483647) {
    throw new Error(
      `LBPH: label ${index} must be a 32-bit integer, got ${label}`,
    );
  }
}

function checkPrep(
  prep: Required<FacePrepOptions>,
): Readonly<Required<FacePrepOptions>> {
  checkInteger("face size", prep.size, 0, 100000);
  if (!Number.isFinite(prep.margin) || prep.margin < 0) {
    throw new Error(
      `LBPH: face margin must be a number 0 or more, got ${prep.margin}`,
    );
  }
  if (typeof prep.equalize !== "boolean") {
    throw new Error(`LBPH: equalize must be true or false`);
  }
  return Object.freeze({ ...prep });
}

/** The names of {@linkcode LbphRecognizer.params}. */
const PARAM_NAMES = [
  "radius",
  "neighbors",
  "gridX",
  "gridY",
  "faceSize",
  "faceMargin",
  "equalize",
] as const;

/**
 * Makes an empty LBPH recogniser from packed parameters
 * ({@linkcode LbphRecognizer.params}; missing ones take the defaults): the
 * `lbph` entry of lib/face/recognizers.ts.
 *
 * @throws {Error} for a parameter LBPH does not have, or a bad value.
 */
export function createLbphRecognizer(
  options: RecognizerOptions = {},
): LbphRecognizer {
  const params = options.params ?? {};
  for (const [name, value] of Object.entries(params)) {
    if (!(PARAM_NAMES as readonly string[]).includes(name)) {
      throw new Error(
        `LBPH: unknown parameter "${name}" (LBPH has ${
          PARAM_NAMES.join(", ")
        })`,
      );
    }
    if (typeof value !== "number") {
      throw new Error(`LBPH: parameter ${name} must be a number`);
    }
  }
  if (
    params.equalize !== undefined && params.equalize !== 0 &&
    params.equalize !== 1
  ) {
    throw new Error(
      `LBPH: parameter equalize must be 0 or 1, got ${params.equalize}`,
    );
  }
  return new LbphRecognizer({
    radius: params.radius,
    neighbors: params.neighbors,
    gridX: params.gridX,
    gridY: params.gridY,
    threshold: options.threshold,
    prep: {
      size: params.faceSize,
      margin: params.faceMargin,
      equalize: params.equalize === undefined
        ? undefined
        : params.equalize === 1,
    },
  });
}
