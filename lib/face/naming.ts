/**
 * Names the faces in a picture: detect, let the recogniser describe each
 * face as its training did, and find the nearest people. Faces farther than
 * the recogniser's threshold from every training face, or no clearer a
 * match than somebody else, are `unknown`.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "./detector.ts";
import type { Face } from "./face.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import type { Recognizer } from "./recognizer.ts";

/** The name given to faces that match nobody in the training set. */
export const UNKNOWN = "unknown";

/**
 * A face is named only if its nearest training face is clearly nearer than
 * the nearest face of anybody else: best distance / runner-up distance at
 * most this. Otherwise the match is ambiguous and the face is `unknown`,
 * which is better than a wrong name. Chosen on ORL (tools/eval_unknown.ts).
 */
export const DEFAULT_AMBIGUITY = 0.93;

/** Options for {@linkcode nameFaces}. */
export interface NameFacesOptions {
  /** The trained recogniser (it prepares faces as it was trained to). */
  recognizer: Recognizer;
  /** `whole`: the face is the whole picture, used as given (no preparation). */
  whole?: boolean;
  /**
   * Largest best/runner-up distance ratio that still names a face (see
   * {@linkcode DEFAULT_AMBIGUITY}); 1 or more turns the test off.
   */
  ambiguity?: number;
}

/** The name for a recogniser label, `unknown` for -1 or an unnamed label. */
export function labelName(
  recognizer: Pick<Recognizer, "labelNames">,
  label: number,
): string {
  if (label < 0) return UNKNOWN;
  return recognizer.labelNames.get(label) ?? String(label);
}

/**
 * Names the faces at `boxes` in a grey or RGB picture (RGB is better for a
 * recogniser whose `channels` is 3). Each face gets its nearest training
 * face's distance, whether or not it is within the threshold.
 */
export function nameFaces(
  image: Image,
  boxes: readonly Box[],
  options: NameFacesOptions,
): Face[] {
  const recognizer = options.recognizer;
  // Once per picture, not once per face inside describe().
  const frame = recognizer.channels === 1 ? toGrey(image) : image;
  const faces: Face[] = [];
  for (const box of boxes) {
    const { best: nearest, runnerUp } = recognizer.nearestTwo(
      recognizer.describe(frame, box, { whole: options.whole }),
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
): Face[] {
  const grey = toGrey(image);
  const frame = options.recognizer.channels === 1 ? grey : image;
  if (options.whole) {
    return nameFaces(
      frame,
      [{ x: 0, y: 0, w: grey.width, h: grey.height }],
      options,
    );
  }
  if (!options.detector) throw new Error("recognise needs a face detector");
  return nameFaces(
    frame,
    options.detector.detect(grey, options.detect),
    options,
  );
}
