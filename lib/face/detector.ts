/**
 * Haar cascade face detection with the WASM build of OpenCV. For the same
 * grey pixels and parameters the boxes are those of native
 * `cv2.CascadeClassifier.detectMultiScale` (checked against OpenCV 4.6 in
 * tests/face/detector_test.ts).
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import { type CV, loadOpenCV } from "./opencv.ts";

/** Parameters of a detection; every field has a default. */
export interface DetectOptions {
  /** Step between detection scales, > 1. Default 1.1 (OpenCV's default). */
  scaleFactor?: number;
  /** Neighbouring hits needed to keep a box. Default 3 (OpenCV's default). */
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
}

/** Options for {@linkcode FaceDetector.create}. */
export interface CreateDetectorOptions extends DetectOptions {
  /**
   * OpenCV cascade XML file. Default: the bundled
   * data/haarcascade_frontalface_default.xml.
   */
  cascadePath?: string;
}

/**
 * Defaults chosen for the server on 640x480 camera frames: detect on the
 * frame shrunk to 320 pixels wide, scale step 1.2, 5 neighbours, faces of at
 * least 60 pixels (in frame coordinates). On every 3rd frame of
 * samples/sample.mp4 this found 113 of 114 faces with 2 false detections in
 * 14 ms a frame, against 114/114 with 7 false detections in 23 ms for scale
 * step 1.1 (same width and sizes) and 40+ ms at full size. On the annotated
 * photos (tools/eval_detection.ts), whose faces are small, full-size 1.1/5
 * finds more: use `--detect-width 0` for far-away faces.
 */
export const SERVER_DETECT_OPTIONS: Readonly<Required<DetectOptions>> = {
  scaleFactor: 1.2,
  minNeighbors: 5,
  minSize: 60,
  maxSize: 0,
  maxWidth: 320,
};

const DEFAULTS: Required<DetectOptions> = {
  scaleFactor: 1.1,
  minNeighbors: 3,
  minSize: 0,
  maxSize: 0,
  maxWidth: 0,
};

let cascadeFileCount = 0;

/**
 * A loaded cascade plus reusable WASM buffers. Not thread safe; create one
 * per worker. Call {@linkcode FaceDetector.close} to free WASM memory.
 */
export class FaceDetector {
  #cv: CV;
  #classifier: CV;
  #defaults: Required<DetectOptions>;
  #input: CV | undefined; // RGB or grey copy of the last frame
  #grey: CV; // grey frame (full size)
  #small: CV; // shrunk grey frame
  #found: CV; // cv.RectVector
  #closed = false;

  private constructor(
    cv: CV,
    classifier: CV,
    defaults: Required<DetectOptions>,
  ) {
    this.#cv = cv;
    this.#classifier = classifier;
    this.#defaults = defaults;
    this.#grey = new cv.Mat();
    this.#small = new cv.Mat();
    this.#found = new cv.RectVector();
  }

  /**
   * Loads OpenCV (once per process) and the cascade. Options other than
   * `cascadePath` become the defaults of {@linkcode FaceDetector.detect}.
   *
   * @throws {Error} when the cascade file is missing or not a cascade.
   */
  static async create(
    options: CreateDetectorOptions = {},
  ): Promise<FaceDetector> {
    const { cascadePath, ...detectOptions } = options;
    const defaults = mergeOptions(DEFAULTS, detectOptions);
    const url = cascadePath === undefined
      ? new URL(
        "../../data/haarcascade_frontalface_default.xml",
        import.meta.url,
      )
      : undefined;
    const label = cascadePath ?? url!.href;
    let xml: Uint8Array;
    try {
      if (url !== undefined && url.protocol !== "file:") {
        const response = await fetch(url);
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        xml = new Uint8Array(await response.arrayBuffer());
      } else {
        xml = await Deno.readFile(cascadePath ?? url!);
      }
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound
        ? "file not found"
        : `cannot read file (${err instanceof Error ? err.message : err})`;
      throw new Error(`${label}: ${reason}`);
    }
    const cv = await loadOpenCV();
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
      throw new Error(`${label}: not a valid OpenCV cascade classifier file`);
    }
    return new FaceDetector(cv, classifier, defaults);
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
    let scale = 1;
    let target = grey;
    if (o.maxWidth > 0 && width > o.maxWidth) {
      const smallWidth = Math.floor(o.maxWidth);
      const smallHeight = Math.max(1, Math.round(height * smallWidth / width));
      cv.resize(
        grey,
        this.#small,
        new cv.Size(smallWidth, smallHeight),
        0,
        0,
        cv.INTER_AREA,
      );
      target = this.#small;
      scale = width / smallWidth;
    }
    const minSide = o.minSize > 0 ? Math.round(o.minSize / scale) : 0;
    const maxSide = o.maxSize > 0 ? Math.round(o.maxSize / scale) : 0;
    this.#classifier.detectMultiScale(
      target,
      this.#found,
      o.scaleFactor,
      o.minNeighbors,
      0,
      new cv.Size(minSide, minSide),
      new cv.Size(maxSide, maxSide),
    );
    const boxes: Box[] = [];
    const n = this.#found.size();
    for (let i = 0; i < n; i++) {
      const r = this.#found.get(i);
      boxes.push(scaleBox(r, scale, width, height));
    }
    return boxes;
  }

  /** Frees the classifier and buffers. The detector is unusable afterwards. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#classifier.delete();
    this.#input?.delete();
    this.#grey.delete();
    this.#small.delete();
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
    if (value !== undefined) o[key] = value;
  }
  if (!(o.scaleFactor > 1)) {
    throw new Error(`scaleFactor must be > 1, got ${o.scaleFactor}`);
  }
  if (!Number.isInteger(o.minNeighbors) || o.minNeighbors < 0) {
    throw new Error(
      `minNeighbors must be an integer >= 0, got ${o.minNeighbors}`,
    );
  }
  for (const key of ["minSize", "maxSize", "maxWidth"] as const) {
    if (!(o[key] >= 0)) throw new Error(`${key} must be >= 0, got ${o[key]}`);
  }
  return o;
}
