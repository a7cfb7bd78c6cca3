/**
 * Annotates frames: a box and a label per face, green for a known person,
 * red for `unknown`. Drawing uses OpenCV (cv.rectangle, cv.putText with the
 * Hershey simplex font), so `await loadOpenCV()` must have run once before.
 *
 * @module
 */

import type { Image } from "./image.ts";
import type { Face } from "../face/face.ts";
import { type CV, openCVSync } from "../face/opencv.ts";

/** RGB colour of boxes around recognised faces. */
export const KNOWN_COLOUR: readonly [number, number, number] = [0, 255, 0];
/** RGB colour of boxes around faces labelled `unknown`. */
export const UNKNOWN_COLOUR: readonly [number, number, number] = [255, 0, 0];

const FONT_SCALE = 0.5;
const TEXT_HEIGHT = 12; // pixels above the baseline at FONT_SCALE

/**
 * A face to draw. Its `label` picks the colour; `text`, when given, is
 * written instead of the label and distance (a tracked face: `#3 s1`).
 */
export interface DrawnFace extends Face {
  /** What to write above the box. */
  text?: string;
}

// One Mat reused across calls; reallocated when the frame size changes.
let canvas: CV | undefined;

/**
 * Draws the boxes and labels into `image` in place (RGB, or grey with the
 * colours' luminance). Boxes partly outside the image are clipped.
 *
 * @throws {Error} when OpenCV is not loaded or the image is malformed.
 */
export function drawFaces(image: Image, faces: DrawnFace[]): void {
  if (faces.length === 0) return;
  const cv = openCVSync();
  const { width, height, channels } = image;
  if (
    !(width > 0 && height > 0) || (channels !== 1 && channels !== 3) ||
    image.data.length !== width * height * channels
  ) {
    throw new Error(
      `drawFaces: invalid image ${width}x${height}x${channels} with ${image.data.length} bytes`,
    );
  }
  const type = channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3;
  if (
    canvas === undefined || canvas.rows !== height || canvas.cols !== width ||
    canvas.type() !== type
  ) {
    canvas?.delete();
    canvas = new cv.Mat(height, width, type);
  }
  canvas.data.set(image.data);
  for (const face of faces) {
    const rgb = face.label === "unknown" ? UNKNOWN_COLOUR : KNOWN_COLOUR;
    const colour = channels === 3
      ? new cv.Scalar(rgb[0], rgb[1], rgb[2], 255)
      : new cv.Scalar(luminance(rgb), 0, 0, 0);
    const x = Math.round(face.x);
    const y = Math.round(face.y);
    const w = Math.max(1, Math.round(face.w));
    const h = Math.max(1, Math.round(face.h));
    cv.rectangle(
      canvas,
      new cv.Point(x, y),
      new cv.Point(x + w - 1, y + h - 1),
      colour,
      2,
      cv.LINE_8,
    );
    const text = face.text ??
      (Number.isFinite(face.distance)
        ? `${face.label} ${face.distance.toFixed(1)}`
        : face.label);
    // Above the box when there is room, else just inside its top edge.
    const baseline = y - 5 >= TEXT_HEIGHT ? y - 5 : y + TEXT_HEIGHT + 4;
    const origin = new cv.Point(Math.max(0, x), baseline);
    // A dark outline first keeps the label readable on any background.
    const strokes = [[new cv.Scalar(0, 0, 0, 255), 3], [colour, 1]] as const;
    for (const [ink, thickness] of strokes) {
      cv.putText(
        canvas,
        text,
        origin,
        cv.FONT_HERSHEY_SIMPLEX,
        FONT_SCALE,
        ink,
        thickness,
        cv.LINE_AA,
      );
    }
  }
  image.data.set(canvas.data);
}

function luminance(rgb: readonly [number, number, number]): number {
  return Math.round(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
}
