/**
 * Names the faces in a grey picture: detect, prepare each face the way
 * training did, and ask the recogniser. Faces farther than the recogniser's
 * threshold from every training face are `unknown`.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "./detector.ts";
import { type FacePrepOptions, prepareFace } from "./face_prep.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import type { LbphRecognizer } from "./lbph.ts";

/** The name given to faces that match nobody in the training set. */
export const UNKNOWN = "unknown";

/**
 * A face is named only if its nearest training face is clearly nearer than
 * the nearest face of anybody else: best distance / runner-up distance at
 * most this. Otherwise the match is ambiguous and the face is `unknown`,
 * which is better than a wrong name. Chosen on ORL (tools/eval_unknown.ts).
 */
export const DEFAULT_AMBIGUITY = 0.93;

/** A named face. */
export interface NamedFace extends Box {
  /** A person's name or `unknown`. */
  label: string;
  /** Distance to the nearest training face (lower is closer). */
  distance: number;
}

/** Options for {@linkcode nameFaces}. */
export interface NameFacesOptions {
  /** The trained recogniser. */
  recognizer: LbphRecognizer;
  /** How faces are prepared; must match how the model was trained. */
  prep?: FacePrepOptions;
  /** `whole`: the face is the whole picture, used as given (no preparation). */
  whole?: boolean;
  /**
   * Largest best/runner-up distance ratio that still names a face (see
   * {@linkcode DEFAULT_AMBIGUITY}); 1 or more turns the test off.
   */
  ambiguity?: number;
}

/** The name for a recogniser label, `unknown` for -1 or an unnamed label. */
export function labelName(recognizer: LbphRecognizer, label: number): string {
  if (label < 0) return UNKNOWN;
  return recognizer.labelNames.get(label) ?? String(label);
}

/**
 * Names the faces at `boxes` in a grey picture. Each face gets its nearest
 * training face's distance, whether or not it is within the threshold.
 */
export function nameFaces(
  grey: Image,
  boxes: readonly Box[],
  options: NameFacesOptions,
): NamedFace[] {
  const recognizer = options.recognizer;
  const faces: NamedFace[] = [];
  for (const box of boxes) {
    const patch = options.whole ? grey : prepareFace(grey, box, options.prep);
    const { best: nearest, runnerUp } = recognizer.nearestTwo(
      recognizer.histogram(patch),
    );
    const clear = runnerUp === null ||
      nearest.distance <=
        (options.ambiguity ?? DEFAULT_AMBIGUITY) * runnerUp.distance;
    const known = nearest.distance < recognizer.threshold && clear;
    faces.push({
      x: box.x,
      y: box.y,
      w: box.w,
      h: box.h,
      label: known ? labelName(recognizer, nearest.label) : UNKNOWN,
      distance: nearest.distance,
    });
  }
  return faces;
}

/** Options for {@linkcode recognise}. */
export interface RecogniseOptions extends NameFacesOptions {
  /** Finds the faces (not needed in `whole` mode). */
  detector?: FaceDetector;
  /** Detection parameters. */
  detect?: DetectOptions;
}

/** Detects and names every face in a grey or RGB picture. */
export function recognise(
  image: Image,
  options: RecogniseOptions,
): NamedFace[] {
  const grey = toGrey(image);
  if (options.whole) {
    return nameFaces(
      grey,
      [{ x: 0, y: 0, w: grey.width, h: grey.height }],
      options,
    );
  }
  if (!options.detector) throw new Error("recognise needs a face detector");
  return nameFaces(
    grey,
    options.detector.detect(grey, options.detect),
    options,
  );
}
