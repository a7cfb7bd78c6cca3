/**
 * The 68 face landmarks (iBUG 300-W layout: jaw 0-16, eyebrows 17-26, nose
 * 27-35, eyes 36-47, mouth 48-67) of the face in a Haar box, with
 * face-api's `FaceLandmark68Net`.
 *
 * face-api feeds the net the boxes of its SSD face detector, padded to a
 * square and resized to 112x112. On the 95 realfaces faces both detectors
 * found, the SSD box had the Haar box's centre (median offsets 0.00 of the
 * Haar width across, 0.02 down) and its square was 1.03 times the Haar
 * box's side (median width 0.80, height 1.03). {@linkcode landmarkBox}
 * makes that square from a Haar box, so that the net sees faces framed as
 * face-api shows them. (The square is filled with the frame, not padded
 * with black as face-api pads the narrower SSD box; both gave the same
 * results.)
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import { boxMapping, chipToFrame, extractChip, type Point } from "./align.ts";
import { type FaceNets, LANDMARK_INPUT } from "./_tfjs.ts";

/** How a Haar box becomes the landmark net's square input. */
export interface LandmarkBoxOptions {
  /** Side of the square over the Haar box's width (default 1.03). */
  scale?: number;
  /** Downward shift of the centre, over the Haar box's width (default 0.02). */
  shiftY?: number;
}

/** The square fed to the landmark net for a Haar box (default options). */
export const HAAR_LANDMARK_BOX: Readonly<Required<LandmarkBoxOptions>> = {
  scale: 1.03,
  shiftY: 0.02,
};

/**
 * The square region (frame pixels, fractional) the landmark net looks at
 * for a face detected at `box`.
 */
export function landmarkBox(
  box: Box,
  options: LandmarkBoxOptions = {},
): Box {
  const scale = options.scale ?? HAAR_LANDMARK_BOX.scale;
  const shiftY = options.shiftY ?? HAAR_LANDMARK_BOX.shiftY;
  const side = Math.max(box.w, box.h) * scale;
  const cx = box.x + box.w / 2;
  const cy = box.y + box.h / 2 + shiftY * box.w;
  return { x: cx - side / 2, y: cy - side / 2, w: side, h: side };
}

/**
 * The 68 landmarks, in frame coordinates, of the face detected at `box` in
 * a grey or RGB frame (grey is fed to the net as 3 equal channels).
 *
 * One look is enough: a second look, framed and turned upright from the
 * first answer, left the realfaces and ORL results no better (tried).
 */
export function detectLandmarks(
  nets: FaceNets,
  frame: Image,
  box: Box,
  options: LandmarkBoxOptions = {},
): Point[] {
  const m = boxMapping(landmarkBox(box, options), LANDMARK_INPUT);
  const out = nets.landmarks(extractChip(frame, m).data);
  // The net answers in fractions of its input's edges; chip pixel centres
  // are at (k + 0.5) / size of them.
  const points: Point[] = [];
  for (let i = 0; i < 68; i++) {
    points.push(chipToFrame(m, {
      x: out[2 * i] * LANDMARK_INPUT - 0.5,
      y: out[2 * i + 1] * LANDMARK_INPUT - 0.5,
    }));
  }
  return points;
}
