/**
 * A second look for the face that fills a tightly cropped photo (ORL's
 * 92x112 faces, dlib's 150x150 face chips): Haar's windows need some room
 * around a face, so the photo is placed in the middle of a larger canvas
 * and searched again. Shared by training (lib/face/training.ts) and by
 * naming photos (lib/face/naming.ts); never used on live frames, where a
 * face is rarely cut by the frame's edges and the time is better spent on
 * the next frame.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "./detector.ts";
import { largestFace } from "./detector.ts";
import type { Box, Image } from "../images/image.ts";

/**
 * What the second look tries after the caller's own detection options: the
 * alt cascade with finer scale steps. Measured on the 55 dlib_johns chips
 * of realfaces (150x150, chin and forehead cut) with training's detection
 * and resnet's face check: a face in 43 as they are, in 8 more on the
 * bordered canvas, and in the last 4 only with this (John_Salley's 000183,
 * 000194, 000200; John_Shimkus' 000385, where the default cascade boxes
 * something else), every one a face by its landmarks (residual 0.03-0.04).
 */
export const BORDER_RETRY: Readonly<DetectOptions> = {
  cascade: "alt",
  scaleFactor: 1.05,
  minNeighbors: 5,
};

/**
 * The largest face found on `grey` placed in the middle of a canvas twice
 * its size (filled with its edge pixels), searched with `options`, then
 * with {@linkcode BORDER_RETRY}; in `grey`'s coordinates, clipped to it.
 * `accept` can turn a box down (resnet: not a face's landmarks), which
 * moves on to the next try. Undefined when nothing is found.
 */
export function detectWithBorder(
  grey: Image,
  detector: FaceDetector,
  options: {
    detect?: Readonly<DetectOptions>;
    accept?: (box: Box) => boolean;
  } = {},
): Box | undefined {
  const padX = Math.round(grey.width / 2);
  const padY = Math.round(grey.height / 2);
  const canvas = padGrey(grey, padX, padY);
  const tries = [options.detect ?? {}, {
    ...options.detect,
    ...BORDER_RETRY,
  }];
  for (const detect of tries) {
    const found = largestFace(detector.detect(canvas, detect));
    if (!found) continue;
    // Map back, clipped to the original image.
    const x0 = Math.max(0, found.x - padX);
    const y0 = Math.max(0, found.y - padY);
    const x1 = Math.min(grey.width, found.x + found.w - padX);
    const y1 = Math.min(grey.height, found.y + found.h - padY);
    if (x1 - x0 < found.w / 2 || y1 - y0 < found.h / 2) continue;
    const box = { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
    if (!options.accept || options.accept(box)) return box;
  }
  return undefined;
}

/** Places a grey image in the middle of a canvas filled with its edge pixels. */
function padGrey(grey: Image, padX: number, padY: number): Image {
  const width = grey.width + 2 * padX;
  const height = grey.height + 2 * padY;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(y - padY, 0), grey.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(x - padX, 0), grey.width - 1);
      data[y * width + x] = grey.data[sy * grey.width + sx];
    }
  }
  return { width, height, channels: 1, data };
}
