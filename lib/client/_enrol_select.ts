/**
 * Which frames give good enrolment faces: exactly one face, big enough,
 * sharp, and different enough from the faces already kept (and a few
 * frames after the last one), so that N faces show the person in N ways.
 *
 * The thresholds were measured on tests/fixtures/clip/clip.mp4 and on a
 * clip of ORL person s5 (each photo 2x, 6 frames each; what
 * tests/e2e/enrol_test.ts builds), and on copies blurred with ffmpeg's
 * `gblur` (tests/client/enrol_select_test.ts keeps them true):
 *
 * - sharpness, the variance of the Laplacian of the grey face resized to
 *   100x100 (so that it measures blur relative to the face, whatever its
 *   size): sharp faces 63..628 (clip) and 66..186 (s5); sigma 3 blur
 *   14..45 (clip), sigma 2 blur 18..39 (s5; its faces are smaller, so the
 *   same blur is stronger for them). Threshold 50: every sharp face passes,
 *   no blurred one does. Real camera faces are sharper than these upscaled
 *   92x112 photos.
 * - difference, the mean absolute difference of 32x32 grey thumbnails of
 *   the face at the best shift of up to 2 pixels (the box jitters from
 *   frame to frame): any two frames of one photo of s5 0..4.1 (video noise,
 *   the box moving a few pixels), two photos 3.7..37 (36 of 1008 pairs
 *   under 5: near-identical photos), the clip's moving face 6.1..24 from one
 *   frame to the next. Threshold 5. (Without the shifts, the box jitter of
 *   one photo alone reached 10.)
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import { cropGrey, resizeGrey } from "../face/face_prep.ts";

/** Options for {@linkcode FaceSelection}. */
export interface SelectOptions {
  /** Smallest face side kept, pixels. Default 80. */
  minFaceSize?: number;
  /** Least sharpness ({@linkcode faceSharpness}) kept. Default 50. */
  minSharpness?: number;
  /** Least difference ({@linkcode thumbnailDifference}) to every face kept. Default 5. */
  minDifference?: number;
  /** Least frames between two faces kept. Default 5. */
  minGap?: number;
}

/** The defaults of {@linkcode SelectOptions} (see the module doc). */
export const SELECT_DEFAULTS: Readonly<Required<SelectOptions>> = {
  minFaceSize: 80,
  minSharpness: 50,
  minDifference: 5,
  minGap: 5,
};

/** Side of the square the face is resized to before measuring sharpness. */
const SHARPNESS_SIDE = 100;

/** Side of the thumbnails compared for near-duplicates. */
const THUMBNAIL_SIDE = 32;

/** Largest shift, in thumbnail pixels, tried when comparing two. */
const THUMBNAIL_SHIFT = 2;

/** Why a frame gave no face, or the face it gave. */
export type Verdict =
  | {
    keep: true;
    /** The face. */
    box: Box;
    /** Its sharpness. */
    sharpness: number;
    /** Its least difference to the faces kept before (Infinity for the first). */
    difference: number;
  }
  | {
    keep: false;
    /** `faces` (not exactly one), `small`, `soon`, `blurred` or `duplicate`. */
    reason: "faces" | "small" | "soon" | "blurred" | "duplicate";
  };

/**
 * Variance of the Laplacian (OpenCV's 3x3 `Laplacian`, ksize 1) of the grey
 * face at `box`, resized to 100x100: high for a sharp face, low for a
 * blurred one.
 */
export function faceSharpness(grey: Image, box: Box): number {
  const face = resizeGrey(cropGrey(grey, box), SHARPNESS_SIDE, SHARPNESS_SIDE);
  const { width, height, data } = face;
  let sum = 0;
  let squares = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const v = data[i - width] + data[i + width] + data[i - 1] +
        data[i + 1] - 4 * data[i];
      sum += v;
      squares += v * v;
      n++;
    }
  }
  const mean = sum / n;
  return squares / n - mean * mean;
}

/** The grey face at `box` as a 32x32 thumbnail. */
export function faceThumbnail(grey: Image, box: Box): Uint8Array {
  return resizeGrey(cropGrey(grey, box), THUMBNAIL_SIDE, THUMBNAIL_SIDE).data;
}

/**
 * Mean absolute difference of two thumbnails (0..255), at the best of the
 * shifts of up to 2 pixels either way: the detector's box moves a little
 * from frame to frame around the same face, which is no new view of it.
 * Compares the middle 28x28 of `a` with `b` shifted.
 */
export function thumbnailDifference(a: Uint8Array, b: Uint8Array): number {
  const side = THUMBNAIL_SIDE;
  const r = THUMBNAIL_SHIFT;
  let best = Infinity;
  for (let dy = -r; dy <= r; dy++) {
    for (let dx = -r; dx <= r; dx++) {
      let sum = 0;
      for (let y = r; y < side - r; y++) {
        const row = y * side;
        const shifted = (y + dy) * side + dx;
        for (let x = r; x < side - r; x++) {
          sum += Math.abs(a[row + x] - b[shifted + x]);
        }
      }
      best = Math.min(best, sum);
    }
  }
  return best / ((side - 2 * r) * (side - 2 * r));
}

/** Decides, frame after frame, which faces to keep. */
export class FaceSelection {
  #options: Required<SelectOptions>;
  #thumbnails: Uint8Array[] = [];
  #lastIndex = -Infinity;

  /** Selects with `options` (defaults {@linkcode SELECT_DEFAULTS}). */
  constructor(options: SelectOptions = {}) {
    this.#options = { ...SELECT_DEFAULTS, ...options };
  }

  /** Faces kept so far. */
  get kept(): number {
    return this.#thumbnails.length;
  }

  /**
   * The cheap reasons not to keep the face at `box` in frame `index` of a
   * picture of `size` ("small", "soon"), looked at before any pixel is; null
   * when the face is worth a look.
   */
  precheck(
    index: number,
    box: Box,
    size: { width: number; height: number },
  ): "small" | "soon" | null {
    const o = this.#options;
    const clipped = clip(box, size);
    if (
      clipped === undefined || Math.min(clipped.w, clipped.h) < o.minFaceSize
    ) {
      return "small";
    }
    return index - this.#lastIndex < o.minGap ? "soon" : null;
  }

  /**
   * Looks at frame `index` (grey) with the faces the server found in it;
   * remembers the face when it is kept.
   */
  consider(index: number, grey: Image, boxes: readonly Box[]): Verdict {
    const o = this.#options;
    if (boxes.length !== 1) return { keep: false, reason: "faces" };
    const early = this.precheck(index, boxes[0], grey);
    if (early) return { keep: false, reason: early };
    const box = clip(boxes[0], grey)!;
    const sharpness = faceSharpness(grey, box);
    if (sharpness < o.minSharpness) return { keep: false, reason: "blurred" };
    const thumbnail = faceThumbnail(grey, box);
    let difference = Infinity;
    for (const kept of this.#thumbnails) {
      difference = Math.min(difference, thumbnailDifference(thumbnail, kept));
    }
    if (difference < o.minDifference) {
      return { keep: false, reason: "duplicate" };
    }
    this.#thumbnails.push(thumbnail);
    this.#lastIndex = index;
    return { keep: true, box, sharpness, difference };
  }
}

/** `box` cut to the image (a detection may reach past an edge). */
function clip(
  box: Box,
  image: { width: number; height: number },
): Box | undefined {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(image.width, Math.round(box.x + box.w));
  const y1 = Math.min(image.height, Math.round(box.y + box.h));
  return x1 > x0 && y1 > y0
    ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 }
    : undefined;
}
