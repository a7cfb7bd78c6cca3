/**
 * Names the faces in a picture: detect, let the recogniser describe each
 * face as its training did, and find the nearest people.
 *
 * The unknown rule: a face is named after the person whose training face is
 * nearest, only if
 * - that person is clearly nearer than anybody else: best distance at most
 *   `ambiguity` times the nearest face of any other person (ratio rule);
 * - no bundled stranger is nearer: best distance at most `strangerRatio`
 *   times the nearest stranger face. Training keeps a few strangers' faces in
 *   the model as label {@linkcode STRANGER_LABEL} (lib/face/training.ts), so
 *   a model of one or two people can still say `unknown`;
 * - the distance is under the recogniser's threshold, a loose outer bound
 *   learned from the same strangers (lib/face/calibration.ts).
 *
 * The first two compare distances with distances of the same face, so they
 * hold when new light or a new camera moves every distance at once, which a
 * fixed threshold does not. The constants differ per recogniser
 * ({@linkcode UNKNOWN_RULES}); tools/eval_unknown.ts measures them.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "./detector.ts";
import type { Face } from "./face.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import type { Match, Recognizer, RecognizerKind } from "./recognizer.ts";

/** The name given to faces that match nobody in the training set. */
export const UNKNOWN = "unknown";

/**
 * The label of the bundled strangers' faces in a model: nobody's, so a face
 * whose nearest training face is one of them is `unknown` (also to OpenCV,
 * whose `predict` returns -1 for unknown).
 */
export const STRANGER_LABEL = -1;

/**
 * A face is named only if its nearest training face is clearly nearer than
 * the nearest face of anybody else: best distance / runner-up distance at
 * most this. Otherwise the match is ambiguous and the face is `unknown`,
 * which is better than a wrong name. Chosen on ORL (tools/eval_unknown.ts);
 * LBPH's value in {@linkcode UNKNOWN_RULES}.
 */
export const DEFAULT_AMBIGUITY = 0.93;

/** One recogniser's constants for the unknown rule (see the module doc). */
export interface UnknownRule {
  /** Largest best / other-person distance ratio that still names a face. */
  ambiguity: number;
  /** Largest best / nearest-stranger distance ratio that still names a face. */
  strangerRatio: number;
  /**
   * Which bundled stranger sets the threshold (lib/face/calibration.ts), by
   * its distance to the nearest trained face: the `farthest` (a loose outer
   * bound) or the `nearest`.
   */
  thresholdFrom: "farthest stranger" | "nearest stranger";
  /** The threshold is this times that stranger's distance... */
  thresholdMargin: number;
  /** ...and never more than this. */
  maxThreshold: number;
}

/**
 * The unknown rule of each recogniser, from tools/eval_unknown.ts (ORL: 20
 * people trained on images 1-5, images 6-10 on a camera frame under 5
 * lightings, 10 strangers; realfaces: 18 people, 2 photos each; both also cut
 * into 2-person and 1-person models).
 *
 * - LBPH. `ambiguity` 0.93: the ratio rule as it was. `strangerRatio` 1: no
 *   stranger may be nearer than the person; with 20 or 18 people that names
 *   as many known faces as the ratio rule alone (1 in 100 fewer under 2 of
 *   the 5 lightings) and fewer strangers, and it is what makes 1- and
 *   2-person models say `unknown` (1.03 loses no known face under any
 *   lighting but names 1 stranger in 9 instead of 1 in 20 with one person).
 *   The threshold is only an outer bound, 1.1 x the farthest stranger's
 *   distance: the farthest known face the ratio rule named was 1.015 (ORL)
 *   and 1.04 (realfaces) times that distance. A tighter, absolute one throws
 *   known faces away as soon as the light changes, since LBPH distances move
 *   with it.
 * - resnet. Its distances barely move with the light, so the threshold can be
 *   tight: 1.05 x the nearest stranger's distance, at most face_recognition's
 *   tolerance 0.6 (dlib's LFW calibration); 1.0 x lost known faces on
 *   realfaces, 1.1 named more ORL strangers. The ratio rule 0.93 and the
 *   strangers as for LBPH (the ratio rule rejects a few more ORL strangers
 *   at no cost).
 */
export const UNKNOWN_RULES: Readonly<Record<RecognizerKind, UnknownRule>> = {
  lbph: {
    ambiguity: DEFAULT_AMBIGUITY,
    strangerRatio: 1,
    thresholdFrom: "farthest stranger",
    thresholdMargin: 1.1,
    maxThreshold: Number.MAX_VALUE,
  },
  resnet: {
    ambiguity: DEFAULT_AMBIGUITY,
    strangerRatio: 1,
    thresholdFrom: "nearest stranger",
    thresholdMargin: 1.05,
    maxThreshold: 0.6,
  },
};

/** Options for {@linkcode nameFaces} and {@linkcode nameDescriptor}. */
export interface NameFacesOptions {
  /** The trained recogniser (it prepares faces as it was trained to). */
  recognizer: Recognizer;
  /** `whole`: the face is the whole picture, used as given (no preparation). */
  whole?: boolean;
  /**
   * Largest best/runner-up distance ratio that still names a face (default:
   * the recogniser's {@linkcode UnknownRule.ambiguity}); 1 or more turns the
   * test off.
   */
  ambiguity?: number;
  /**
   * Largest best/nearest-stranger distance ratio that still names a face
   * (default: the recogniser's {@linkcode UnknownRule.strangerRatio});
   * `Infinity` ignores the strangers.
   */
  strangerRatio?: number;
}

/** The name for a recogniser label, `unknown` for -1 or an unnamed label. */
export function labelName(
  recognizer: Pick<Recognizer, "labelNames">,
  label: number,
): string {
  if (label < 0) return UNKNOWN;
  return recognizer.labelNames.get(label) ?? String(label);
}

/** The distances the unknown rule looks at, for one face. */
export interface RuleDistances {
  /** Distance to the nearest face of any person (not a stranger). */
  person: number;
  /** Distance to the nearest face of any other person (Infinity: none). */
  other: number;
  /** Distance to the nearest stranger face (Infinity: none). */
  stranger: number;
}

/** Whether the unknown rule names a face with these distances. */
export function isNamed(
  distances: RuleDistances,
  rule: { threshold: number; ambiguity: number; strangerRatio: number },
): boolean {
  const { person, other, stranger } = distances;
  return person < rule.threshold &&
    clearOf(person, rule.strangerRatio, stranger) &&
    (rule.ambiguity >= 1 || clearOf(person, rule.ambiguity, other));
}

/** `distance` is at most `ratio` times `than` (always, when nobody is there). */
function clearOf(distance: number, ratio: number, than: number): boolean {
  return than === Infinity || distance <= ratio * than;
}

/** A face named from its descriptor. */
export interface Naming {
  /** The person's label, or -1 for unknown. */
  label: number;
  /** Distance to the nearest face of a person. */
  distance: number;
}

/**
 * Names one face from its descriptor with the unknown rule (see the module
 * doc): the label of the nearest person, or -1.
 */
export function nameDescriptor(
  descriptor: Float32Array,
  options: Omit<NameFacesOptions, "whole">,
): Naming {
  const recognizer = options.recognizer;
  const rule = UNKNOWN_RULES[recognizer.kind] ?? UNKNOWN_RULES.lbph;
  const ambiguity = options.ambiguity ?? rule.ambiguity;
  const strangerRatio = options.strangerRatio ?? rule.strangerRatio;
  const { best, runnerUp } = recognizer.nearestTwo(descriptor);
  // nearestTwo gives the nearest face and the nearest of any other label,
  // person or stranger. What it leaves open is bounded from below (anything
  // else is at least as far as its runner-up) and looked up only when the
  // bound is not enough to name the face.
  let person: Match;
  let other: number | undefined;
  let stranger: number | undefined;
  let bound: number;
  if (best.label !== STRANGER_LABEL) {
    person = best;
    bound = runnerUp?.distance ?? Infinity;
    if (runnerUp?.label === STRANGER_LABEL) stranger = runnerUp.distance;
    else {
      other = bound;
      if (!hasStrangers(recognizer)) stranger = Infinity;
    }
  } else {
    stranger = best.distance;
    person = nearestWhere(recognizer, descriptor, (l) => l !== STRANGER_LABEL);
    bound = person.distance;
  }
  const d = person.distance;
  // A bound can only fail a test the real distance passes: then look it up.
  const within = (
    ratio: number,
    exact: number | undefined,
    keep: (label: number) => boolean,
  ) =>
    clearOf(d, ratio, exact ?? bound) ||
    (exact === undefined &&
      clearOf(d, ratio, nearestWhere(recognizer, descriptor, keep).distance));
  const named = d < recognizer.threshold &&
    within(strangerRatio, stranger, (l) => l === STRANGER_LABEL) &&
    (ambiguity >= 1 ||
      within(
        ambiguity,
        other,
        (l) => l !== STRANGER_LABEL && l !== person.label,
      ));
  return { label: named ? person.label : -1, distance: person.distance };
}

/**
 * Names the faces at `boxes` in a grey or RGB picture (RGB is better for a
 * recogniser whose `channels` is 3). Each face gets the distance to its
 * nearest person's training face, whether or not it is named.
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
    const { label, distance } = nameDescriptor(
      recognizer.describe(frame, box, { whole: options.whole }),
      options,
    );
    faces.push({
      x: box.x,
      y: box.y,
      w: box.w,
      h: box.h,
      label: labelName(recognizer, label),
      distance,
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

/** A recogniser's training faces, kept per recogniser for the rare scans. */
interface Rows {
  size: number;
  rows: Float32Array[];
  labels: readonly number[];
}

const ROWS = new WeakMap<Recognizer, Rows>();

function rowsOf(recognizer: Recognizer): Rows {
  const cached = ROWS.get(recognizer);
  if (cached && cached.size === recognizer.size) return cached;
  const { descriptors, labels } = recognizer.pack();
  const n = recognizer.descriptorSize;
  const rows: Float32Array[] = [];
  for (let i = 0; i < labels.length; i++) {
    rows.push(descriptors.subarray(i * n, (i + 1) * n));
  }
  const fresh = { size: labels.length, rows, labels };
  ROWS.set(recognizer, fresh);
  return fresh;
}

function hasStrangers(recognizer: Recognizer): boolean {
  return recognizer.labels.includes(STRANGER_LABEL);
}

/** The nearest training face whose label passes `keep` (Infinity if none). */
function nearestWhere(
  recognizer: Recognizer,
  descriptor: Float32Array,
  keep: (label: number) => boolean,
): Match {
  const { rows, labels } = rowsOf(recognizer);
  let best: Match = { label: -1, distance: Infinity };
  for (let i = 0; i < rows.length; i++) {
    if (!keep(labels[i])) continue;
    const d = recognizer.distance(descriptor, rows[i]);
    if (d < best.distance) best = { label: labels[i], distance: d };
  }
  return best;
}
