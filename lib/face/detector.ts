/**
 * Haar cascade face detection with the WASM build of OpenCV. For the same
 * grey pixels and parameters the boxes are those of native
 * `cv2.CascadeClassifier.detectMultiScale` (checked against OpenCV 4.6 in
 * tests/face/detector_test.ts); with `confirm`, those of the same
 * detectMultiScale calls made natively (tools/oracle_detect.py repeats them).
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import { type CV, loadOpenCV } from "./opencv.ts";

/**
 * A cascade bundled in data/: `"default"` is
 * haarcascade_frontalface_default.xml, `"alt"` haarcascade_frontalface_alt.xml.
 */
export type BundledCascade = "default" | "alt";

/** Parameters of a detection; every field has a default. */
export interface DetectOptions {
  /**
   * The cascade: a {@linkcode BundledCascade} name (names win over files of
   * that name) or the path of an OpenCV cascade XML file. Default
   * `"default"`. A detector loads each cascade once, on first use; `alt` is
   * the original design's and gives fewer false detections.
   */
  cascade?: BundledCascade | string;
  /** Step between detection scales, > 1. Default 1.1 (OpenCV's default). */
  scaleFactor?: number;
  /**
   * Neighbouring hits needed to keep a box (with `confirm`, in stage 2).
   * Default 3 (OpenCV's default).
   */
  minNeighbors?: number;
  /** Smallest face side in image pixels; 0 = no limit (default). */
  minSize?: number;
  /** Largest face side in image pixels; 0 = no limit (default). */
  maxSize?: number;
  /**
   * Detect on a grey copy shrunk (cv.resize, INTER_AREA) to at most this
   * width; boxes are scaled back to image coordinates. 0 = full size
   * (default).
   */
  maxWidth?: number;
  /**
   * Two-stage search: small faces at full resolution for about a third of
   * the cost of a full-size scan. Stage 1 collects every raw cascade hit (no
   * neighbours needed) on the copy shrunk to `maxWidth` (0: the image
   * itself), at the scales where OpenCV steps 2 pixels, and on a copy half
   * that size for bigger faces; the hits are clustered (OpenCV's grouping)
   * into candidates. Stage 2 runs `detectMultiScale` with `minNeighbors` at
   * full resolution on a window around each candidate (30% margin, face
   * sizes 0.7-1.5 times the candidate's). The boxes are stage 2's, in
   * candidate order. Default false: one detectMultiScale call.
   */
  confirm?: boolean;
}

/** Options for {@linkcode FaceDetector.create}. */
export interface CreateDetectorOptions extends DetectOptions {
  /**
   * OpenCV cascade XML file; used when `cascade` is not given.
   *
   * @deprecated Use `cascade`, which also takes a path.
   */
  cascadePath?: string;
}

/**
 * Defaults for the server on 640x480 camera frames: the original design's
 * cascade (alt) and scale step (1.2), searched in two stages (`confirm`):
 * candidates on the frame shrunk to 400 wide, each confirmed at full
 * resolution with 3 neighbours. tools/eval_detect_settings.ts compares them
 * on the same frames with native OpenCV run as the original does (alt, 1.2,
 * 5 neighbours, full frame):
 *
 * - faces pasted at 30-34 px on real photos: 117/128 found (original
 *   111/128), 35-39 px 64/64 (62/64), 40-59 px 317/319 (316/319); false
 *   detections 15 against 10, most on the same beer glass;
 * - testing.xml (25 faces, ~37 px): 24/25, no false detection (23/25, none);
 *   sample.mp4: 114/114, none (113/114, one);
 * - about 3 times faster than the original, twice as slow as the previous
 *   defaults (default cascade, 320 wide, 5 neighbours, faces of 60 px or
 *   more: no face under 40 px found): median detect 22 ms a frame against
 *   65 and 10 in the same run on this 2-core machine under load (sample.mp4
 *   alone: 13, 36 and 6).
 *
 * Use `minNeighbors` 4 for fewer false detections (10 above, but 107/128 at
 * 30-34 px), `confirm: false` with `maxWidth: 0` for the original exactly.
 */
export const SERVER_DETECT_OPTIONS: Readonly<Required<DetectOptions>> = {
  cascade: "alt",
  confirm: true,
  scaleFactor: 1.2,
  minNeighbors: 3,
  minSize: 0,
  maxSize: 0,
  maxWidth: 400,
};

const DEFAULTS: Required<DetectOptions> = {
  cascade: "default",
  scaleFactor: 1.1,
  minNeighbors: 3,
  minSize: 0,
  maxSize: 0,
  maxWidth: 0,
  confirm: false,
};

/**
 * Stage 2 of `confirm`: how far around a candidate to look, and which face
 * sizes, relative to the candidate's. A face's raw hits span about 0.7-1.4
 * times its size and 20% of it in position, so this window holds most of
 * the evidence that a full-frame scan would count, at a few percent of the
 * cost of that scan.
 */
const CONFIRM_MARGIN = 0.3;
const CONFIRM_MIN = 0.7;
const CONFIRM_MAX = 1.5;
/**
 * {@linkcode FaceDetector.detectNear}'s window: a box grown by half its
 * width on each side, twice its size. A client's track predicts its face's
 * box from its speed; at 30 fps a face moves a few percent of its width a
 * frame, and this leaves room for a prediction off by a third of it.
 */
const NEAR_MARGIN = 0.5;
/** OpenCV's grouping tolerance (`GROUP_EPS` in cascadedetect.cpp). */
const GROUP_EPS = 0.2;

const BUNDLED: Readonly<Record<BundledCascade, string>> = {
  default: "haarcascade_frontalface_default.xml",
  alt: "haarcascade_frontalface_alt.xml",
};

let cascadeFileCount = 0;

/** Where a cascade's XML is: a URL for bundled ones, else a path. */
function cascadeSource(cascade: string): { label: string; file: string | URL } {
  if (Object.hasOwn(BUNDLED, cascade)) {
    const url = new URL(
      `../../data/${BUNDLED[cascade as BundledCascade]}`,
      import.meta.url,
    );
    return { label: url.href, file: url };
  }
  return { label: cascade, file: cascade };
}

function readError(label: string, err: unknown): Error {
  const reason = err instanceof Deno.errors.NotFound
    ? "file not found"
    : `cannot read file (${err instanceof Error ? err.message : err})`;
  return new Error(`${label}: ${reason}`);
}

async function readCascade(cascade: string): Promise<Uint8Array> {
  const { label, file } = cascadeSource(cascade);
  try {
    if (file instanceof URL && file.protocol !== "file:") {
      const response = await fetch(file);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    }
    return await Deno.readFile(file);
  } catch (err) {
    throw readError(label, err);
  }
}

function readCascadeSync(cascade: string): Uint8Array {
  const { label, file } = cascadeSource(cascade);
  if (file instanceof URL && file.protocol !== "file:") {
    // detect() is synchronous and cannot fetch.
    throw new Error(
      `${label}: a remote cascade must be loaded by FaceDetector.create({ cascade: "${cascade}" })`,
    );
  }
  try {
    return Deno.readFileSync(file);
  } catch (err) {
    throw readError(label, err);
  }
}

/** A loaded cascade and its detection window width in pixels. */
interface Cascade {
  classifier: CV;
  window: number;
}

/** The window width from a cascade's XML (new `<width>` or old `<size>`). */
function windowWidth(xml: Uint8Array): number {
  const head = new TextDecoder().decode(xml.subarray(0, 8192));
  const m = head.match(/<width>\s*(\d+)\s*<\/width>/) ??
    head.match(/<size>\s*(\d+)\s+\d+\s*<\/size>/);
  // 24 is the common Haar face window; only `confirm` uses this.
  return m ? Number(m[1]) : 24;
}

function loadClassifier(cv: CV, cascade: string, xml: Uint8Array): Cascade {
  const fsName = `/facezmq_cascade_${cascadeFileCount++}.xml`;
  const classifier = new cv.CascadeClassifier();
  let loaded = false;
  try {
    cv.FS.writeFile(fsName, xml);
    loaded = classifier.load(fsName) && !classifier.empty();
  } catch {
    loaded = false;
  } finally {
    try {
      cv.FS.unlink(fsName);
    } catch {
      // The file was never written.
    }
  }
  if (!loaded) {
    classifier.delete();
    throw new Error(
      `${
        cascadeSource(cascade).label
      }: not a valid OpenCV cascade classifier file`,
    );
  }
  return { classifier, window: windowWidth(xml) };
}

/**
 * Loaded cascades plus reusable WASM buffers. Not thread safe; create one
 * per worker. Call {@linkcode FaceDetector.close} to free WASM memory.
 */
export class FaceDetector {
  #cv: CV;
  #cascades = new Map<string, Cascade>();
  #defaults: Required<DetectOptions>;
  #input: CV | undefined; // RGB or grey copy of the last frame
  #grey: CV; // grey frame (full size)
  #small: CV; // shrunk grey frame
  #half: CV; // grey frame shrunk to half of #small (confirm)
  #found: CV; // cv.RectVector
  #closed = false;

  private constructor(
    cv: CV,
    cascade: Cascade,
    defaults: Required<DetectOptions>,
  ) {
    this.#cv = cv;
    this.#cascades.set(defaults.cascade, cascade);
    this.#defaults = defaults;
    this.#grey = new cv.Mat();
    this.#small = new cv.Mat();
    this.#half = new cv.Mat();
    this.#found = new cv.RectVector();
  }

  /**
   * Loads OpenCV (once per process) and the cascade of `options.cascade`
   * (or `cascadePath`). The options become the defaults of
   * {@linkcode FaceDetector.detect}.
   *
   * @throws {Error} when the cascade file is missing or not a cascade.
   */
  static async create(
    options: CreateDetectorOptions = {},
  ): Promise<FaceDetector> {
    const { cascadePath, ...detectOptions } = options;
    if (detectOptions.cascade === undefined && cascadePath !== undefined) {
      detectOptions.cascade = cascadePath;
    }
    const defaults = mergeOptions(DEFAULTS, detectOptions);
    const xml = await readCascade(defaults.cascade);
    const cv = await loadOpenCV();
    const cascade = loadClassifier(cv, defaults.cascade, xml);
    return new FaceDetector(cv, cascade, defaults);
  }

  #cascade(name: string): Cascade {
    let cascade = this.#cascades.get(name);
    if (cascade === undefined) {
      const xml = readCascadeSync(name);
      cascade = loadClassifier(this.#cv, name, xml);
      this.#cascades.set(name, cascade);
    }
    return cascade;
  }

  /**
   * Finds faces in a grey or RGB image. Boxes are in image coordinates, in
   * the order OpenCV returns them.
   *
   * @throws {Error} when the image is malformed or the detector is closed.
   */
  detect(image: Image, options: DetectOptions = {}): Box[] {
    if (this.#closed) throw new Error("FaceDetector: detect() after close()");
    const o = mergeOptions(this.#defaults, options);
    const cascade = this.#cascade(o.cascade);
    const grey = this.#greyOf(image);
    if (o.confirm) return this.#confirmed(grey, cascade, o);
    const { width, height } = image;
    let scale = 1;
    let target = grey;
    if (o.maxWidth > 0 && width > o.maxWidth) {
      target = this.#shrink(grey, this.#small, o.maxWidth);
      scale = width / target.cols;
    }
    return this.#scan(cascade.classifier, target, scale, o, {
      minSize: o.minSize,
      maxSize: o.maxSize,
      minNeighbors: o.minNeighbors,
    }).map((r) => scaleBox(r, scale, width, height));
  }

  /**
   * Finds faces only near `boxes`, where faces are expected (a client's
   * tracks, protocol version 2's `tracks only`): around each box, the
   * search that `confirm` makes around a candidate (detectMultiScale with
   * `minNeighbors` at full resolution, faces of 0.7-1.5 times the box's
   * width), in a window grown by half the box's width on each side, since
   * the face may have moved. No pass over the whole frame: a face far from
   * every box is not found, which is what makes this a few percent of the
   * cost of {@linkcode FaceDetector.detect}. Boxes in the order of `boxes`;
   * a face near two boxes is found once; empty boxes find nothing.
   * `confirm` and `maxWidth` do not apply.
   *
   * @throws {Error} when the image is malformed or the detector is closed.
   */
  detectNear(
    image: Image,
    boxes: readonly Box[],
    options: DetectOptions = {},
  ): Box[] {
    if (this.#closed) {
      throw new Error("FaceDetector: detectNear() after close()");
    }
    const o = mergeOptions(this.#defaults, options);
    const cascade = this.#cascade(o.cascade);
    const grey = this.#greyOf(image);
    const found: Box[] = [];
    for (const box of boxes) {
      if (!(box.w > 0 && box.h > 0)) continue;
      this.#around(grey, cascade, box, o, { margin: NEAR_MARGIN, found });
    }
    return found;
  }

  /** `image` checked and in WASM memory, as grey (a Mat of this detector's). */
  #greyOf(image: Image): CV {
    const cv = this.#cv;
    const { width, height, channels } = image;
    if (
      !(width > 0 && height > 0) || (channels !== 1 && channels !== 3) ||
      image.data.length !== width * height * channels
    ) {
      throw new Error(
        `FaceDetector: invalid image ${width}x${height}x${channels} with ${image.data.length} bytes`,
      );
    }
    const type = channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3;
    if (
      this.#input === undefined || this.#input.rows !== height ||
      this.#input.cols !== width || this.#input.type() !== type
    ) {
      this.#input?.delete();
      this.#input = new cv.Mat(height, width, type);
    }
    this.#input.data.set(image.data);
    let grey: CV = this.#input;
    if (channels === 3) {
      cv.cvtColor(this.#input, this.#grey, cv.COLOR_RGB2GRAY);
      grey = this.#grey;
    }
    return grey;
  }

  /** `grey` shrunk (INTER_AREA) into `into` to `maxWidth` wide. */
  #shrink(grey: CV, into: CV, maxWidth: number): CV {
    const cv = this.#cv;
    const width = Math.floor(maxWidth);
    const height = Math.max(1, Math.round(grey.rows * width / grey.cols));
    cv.resize(grey, into, new cv.Size(width, height), 0, 0, cv.INTER_AREA);
    return into;
  }

  /**
   * detectMultiScale on `target`, a copy `scale` times smaller than the
   * frame; sizes are in frame pixels (0 = no limit), boxes in `target`'s.
   */
  #scan(
    classifier: CV,
    target: CV,
    scale: number,
    o: Required<DetectOptions>,
    limits: { minSize: number; maxSize: number; minNeighbors: number },
  ): Box[] {
    const cv = this.#cv;
    const minSide = limits.minSize > 0 ? Math.round(limits.minSize / scale) : 0;
    const maxSide = limits.maxSize > 0 ? Math.round(limits.maxSize / scale) : 0;
    classifier.detectMultiScale(
      target,
      this.#found,
      o.scaleFactor,
      limits.minNeighbors,
      0,
      new cv.Size(minSide, minSide),
      new cv.Size(maxSide, maxSide),
    );
    const boxes: Box[] = [];
    const n = this.#found.size();
    for (let i = 0; i < n; i++) {
      const r = this.#found.get(i);
      boxes.push({ x: r.x, y: r.y, w: r.width, h: r.height });
    }
    return boxes;
  }

  /** The two-stage search of {@linkcode DetectOptions.confirm}. */
  #confirmed(grey: CV, cascade: Cascade, o: Required<DetectOptions>): Box[] {
    const { classifier, window } = cascade;
    const width = grey.cols;
    // Stage 1. On each copy only scales below 2 are scanned, where OpenCV
    // steps 2 pixels; at 2 and above it steps 1 pixel, 4 times the windows
    // for the same scales, and half the copy's width covers them instead.
    const a = o.maxWidth > 0 && width > o.maxWidth
      ? this.#shrink(grey, this.#small, o.maxWidth)
      : grey;
    const scaleA = width / a.cols;
    const copies: [CV, number, number][] = [
      [a, scaleA, (2 * window - 1) * scaleA],
    ];
    if (a.cols >= 2 * window && a.rows >= 2 * window) {
      const b = this.#shrink(a, this.#half, a.cols / 2);
      copies.push([b, width / b.cols, Infinity]);
    }
    // Candidates of size c give boxes of 0.7c to 1.5c.
    const minSize = o.minSize / CONFIRM_MAX;
    const maxSize = o.maxSize > 0 ? o.maxSize / CONFIRM_MIN : Infinity;
    const raw: Box[] = [];
    for (const [target, scale, below] of copies) {
      const limit = Math.min(below, maxSize);
      const hits = this.#scan(classifier, target, scale, o, {
        minSize,
        maxSize: limit === Infinity ? 0 : limit,
        minNeighbors: 0,
      });
      for (const r of hits) {
        raw.push({
          x: r.x * scale,
          y: r.y * scale,
          w: r.w * scale,
          h: r.h * scale,
        });
      }
    }
    const found: Box[] = [];
    for (const c of cluster(raw, GROUP_EPS)) {
      this.#around(grey, cascade, c, o, { margin: CONFIRM_MARGIN, found });
    }
    return found;
  }

  /**
   * Stage 2 of `confirm` around `c`: detectMultiScale with `minNeighbors`
   * at full resolution on the window of `c` grown by `margin` times its
   * width on each side, for faces of 0.7-1.5 times its width. Boxes with
   * their centre in `c` (or holding its centre) that no box of `found`
   * already covers are added to `found`.
   */
  #around(
    grey: CV,
    cascade: Cascade,
    c: Box,
    o: Required<DetectOptions>,
    at: { margin: number; found: Box[] },
  ): void {
    const cv = this.#cv;
    const { classifier, window } = cascade;
    const { found } = at;
    if (c.w * CONFIRM_MAX < o.minSize) return;
    const m = c.w * at.margin;
    const x0 = Math.max(0, Math.floor(c.x - m));
    const y0 = Math.max(0, Math.floor(c.y - m));
    const x1 = Math.min(grey.cols, Math.ceil(c.x + c.w + m));
    const y1 = Math.min(grey.rows, Math.ceil(c.y + c.h + m));
    if (x1 - x0 < window || y1 - y0 < window) return;
    const roi = grey.roi(new cv.Rect(x0, y0, x1 - x0, y1 - y0));
    let boxes: Box[];
    try {
      const minSize = Math.max(o.minSize, Math.round(c.w * CONFIRM_MIN));
      const maxSize = o.maxSize > 0
        ? Math.min(o.maxSize, Math.round(c.w * CONFIRM_MAX))
        : Math.round(c.w * CONFIRM_MAX);
      boxes = this.#scan(classifier, roi, 1, o, {
        minSize,
        maxSize,
        minNeighbors: o.minNeighbors,
      });
    } finally {
      roi.delete();
    }
    for (const r of boxes) {
      const box = { x: r.x + x0, y: r.y + y0, w: r.w, h: r.h };
      if (!(centreInside(c, box) || centreInside(box, c))) continue;
      if (found.some((f) => centreInside(f, box) || centreInside(box, f))) {
        continue;
      }
      found.push(box);
    }
  }

  /** Frees the classifier and buffers. The detector is unusable afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const { classifier } of this.#cascades.values()) classifier.delete();
    this.#cascades.clear();
    this.#input?.delete();
    this.#grey.delete();
    this.#small.delete();
    this.#half.delete();
    this.#found.delete();
  }
}

/** Returns the box with the largest area (the first one on ties). */
export function largestFace(boxes: Box[]): Box | undefined {
  let best: Box | undefined;
  for (const b of boxes) {
    if (best === undefined || b.w * b.h > best.w * best.h) best = b;
  }
  return best;
}

function centreInside(outer: Box, inner: Box): boolean {
  const cx = inner.x + inner.w / 2;
  const cy = inner.y + inner.h / 2;
  return cx >= outer.x && cx <= outer.x + outer.w && cy >= outer.y &&
    cy <= outer.y + outer.h;
}

/**
 * OpenCV's grouping of raw hits (`groupRectangles`: a box joins a cluster
 * when each edge is within `eps` times the mean of the smaller sides) without
 * a neighbour threshold: the mean box of every cluster, in order of each
 * cluster's first hit.
 */
function cluster(boxes: Box[], eps: number): Box[] {
  const parent = boxes.map((_, i) => i);
  const root = (i: number): number => {
    while (parent[i] !== i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i];
      const b = boxes[j];
      const d = eps * (Math.min(a.w, b.w) + Math.min(a.h, b.h)) / 2;
      if (
        Math.abs(a.x - b.x) <= d && Math.abs(a.y - b.y) <= d &&
        Math.abs(a.x + a.w - b.x - b.w) <= d &&
        Math.abs(a.y + a.h - b.y - b.h) <= d
      ) {
        const ri = root(i);
        const rj = root(j);
        if (ri !== rj) parent[Math.max(ri, rj)] = Math.min(ri, rj);
      }
    }
  }
  const sums = new Map<number, number[]>();
  boxes.forEach((b, i) => {
    const s = sums.get(root(i)) ?? [0, 0, 0, 0, 0];
    s[0] += b.x;
    s[1] += b.y;
    s[2] += b.w;
    s[3] += b.h;
    s[4]++;
    sums.set(root(i), s);
  });
  return [...sums.values()].map(([x, y, w, h, n]) => ({
    x: x / n,
    y: y / n,
    w: w / n,
    h: h / n,
  }));
}

function scaleBox(
  r: Box & { width?: number; height?: number },
  scale: number,
  width: number,
  height: number,
): Box {
  const rx = r.x, ry = r.y, rw = r.width ?? r.w, rh = r.height ?? r.h;
  if (scale === 1) return { x: rx, y: ry, w: rw, h: rh };
  const x = Math.min(Math.round(rx * scale), width - 1);
  const y = Math.min(Math.round(ry * scale), height - 1);
  const w = Math.min(Math.round(rw * scale), width - x);
  const h = Math.min(Math.round(rh * scale), height - y);
  return { x, y, w, h };
}

function mergeOptions(
  base: Required<DetectOptions>,
  options: DetectOptions,
): Required<DetectOptions> {
  const o = { ...base };
  for (const key of Object.keys(base) as (keyof DetectOptions)[]) {
    const value = options[key];
    if (value !== undefined) (o as Record<string, unknown>)[key] = value;
  }
  if (typeof o.cascade !== "string" || o.cascade === "") {
    throw new Error(`cascade must be "default", "alt" or a file path`);
  }
  if (!(o.scaleFactor > 1)) {
    throw new Error(`scaleFactor must be > 1, got ${o.scaleFactor}`);
  }
  if (!Number.isInteger(o.minNeighbors) || o.minNeighbors < 0) {
    throw new Error(
      `minNeighbors must be an integer >= 0, got ${o.minNeighbors}`,
    );
  }
  if (typeof o.confirm !== "boolean") {
    throw new Error(`confirm must be true or false, got ${o.confirm}`);
  }
  for (const key of ["minSize", "maxSize", "maxWidth"] as const) {
    if (!(o[key] >= 0)) throw new Error(`${key} must be >= 0, got ${o[key]}`);
  }
  return o;
}
