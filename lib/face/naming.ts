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
 * A box the recogniser says holds no face (resnet: its landmarks do not fit
 * a face's shape) is not a face at all: it gets no name and is left out of
 * the answer. A photo (not a live frame) in which no face is found is
 * searched again with a border around it, as training does.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "./detector.ts";
import type { Face } from "./face.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import type { Match, Recognizer, RecognizerKind } from "./recognizer.ts";
import { detectWithBorder } from "./_border.ts";

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
 * which is better than a wrong name. Chosen on ORL (tools/eval_unknown.ts)
 * before the bundled strangers; resnet's value in {@linkcode UNKNOWN_RULES}
 * (LBPH's is stricter), and the one the evaluation tools call the old rule.
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
 * - LBPH. `ambiguity` 0.9: at 0.93 (the ratio rule as it was) LBPH gave
 *   wrong names on realfaces (1 with 18 people, 3 with 2 people: faces of
 *   bystanders and look-alikes at ratios 0.913-0.924); 0.92 left 2, 0.91
 *   none, 0.9 none with a margin. That costs known faces: with 18 people
 *   40% of realfaces probes named right at 0.93, 34% at 0.91, 27% at 0.9;
 *   ORL (20 people, 5 lightings) 57%, 46%, 44%; 2-person models lose 2-4
 *   points. On samples/sample.mp4 (train/'s 4 people, live frames) 0.93
 *   gave one wrong name too and named 52% of known faces, 0.9 none and
 *   42%. LBPH on photos from anywhere is weak; a wrong name is worse than
 *   `unknown`. `strangerRatio` 1: no stranger may be nearer than the
 *   person; it is what makes 1- and 2-person models say `unknown`, and at
 *   ambiguity 0.9 a stricter 0.98 or 0.95 only costs known faces (ORL, 2
 *   people: 82% right at 1, 77% at 0.98) without removing a wrong name
 *   (there is none left). The threshold is only an outer bound, 1.1 x the
 *   farthest stranger's distance: the farthest known face the ratio rule
 *   named was 1.015 (ORL) and 1.04 (realfaces) times that distance. A
 *   tighter, absolute one throws known faces away as soon as the light
 *   changes, since LBPH distances move with it.
 * - resnet. Its distances barely move with the light, so the threshold can be
 *   tight: 1.05 x the nearest stranger's distance, at most face_recognition's
 *   tolerance 0.6 (dlib's LFW calibration); 1.0 x lost known faces on
 *   realfaces, 1.1 named more ORL strangers. The ratio rule 0.93
 *   ({@linkcode DEFAULT_AMBIGUITY}) and the strangers as for LBPH: on
 *   realfaces and ORL every ambiguity from 0.85 to 1 and stranger ratio
 *   from 0.95 to 1.05 gives the same known faces and no wrong name (18
 *   people: 96.8% of realfaces probes right, all 9 stranger photos
 *   unknown).
 */
export const UNKNOWN_RULES: Readonly<Record<RecognizerKind, UnknownRule>> = {
  lbph: {
    ambiguity: 0.9,
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

/** A face found in a picture and described by the recogniser. */
export interface DescribedFace {
  /** Where the face is. */
  box: Box;
  /** Its descriptor ({@linkcode Recognizer.describe}). */
  descriptor: Float32Array;
}

/**
 * Describes the faces at `boxes` in a grey or RGB picture; a box the
 * recogniser says holds no face ({@linkcode Recognizer.describe} null) is
 * left out.
 */
function describeBoxes(
  image: Image,
  boxes: readonly Box[],
  options: Pick<NameFacesOptions, "recognizer" | "whole">,
): DescribedFace[] {
  const recognizer = options.recognizer;
  // Once per picture, not once per face inside describe().
  const frame = recognizer.channels === 1 ? toGrey(image) : image;
  const faces: DescribedFace[] = [];
  for (const box of boxes) {
    const descriptor = recognizer.describe(frame, box, {
      whole: options.whole,
    });
    if (descriptor) faces.push({ box, descriptor });
  }
  return faces;
}

/** Names described faces with the unknown rule. */
function nameDescribed(
  faces: readonly DescribedFace[],
  options: NameFacesOptions,
): Face[] {
  return faces.map(({ box, descriptor }) => {
    const { label, distance } = nameDescriptor(descriptor, options);
    return {
      x: box.x,
      y: box.y,
      w: box.w,
      h: box.h,
      label: labelName(options.recognizer, label),
      distance,
    };
  });
}

/**
 * Names the faces at `boxes` in a grey or RGB picture (RGB is better for a
 * recogniser whose `channels` is 3). Each face gets the distance to its
 * nearest person's training face, whether or not it is named. A box the
 * recogniser says holds no face (resnet: its landmarks do not fit a face)
 * is left out: it is not a face, so it gets no name and no place in the
 * answer.
 */
export function nameFaces(
  image: Image,
  boxes: readonly Box[],
  options: NameFacesOptions,
): Face[] {
  return nameDescribed(describeBoxes(image, boxes, options), options);
}

/** Options for {@linkcode recognise} and {@linkcode describeFaces}. */
export interface RecogniseOptions extends NameFacesOptions {
  /** Finds the faces (not needed in `whole` mode). */
  detector?: FaceDetector;
  /** Detection parameters. */
  detect?: DetectOptions;
  /**
   * The picture is a photo, not a live frame: when it shows no face (Haar
   * finds none, or none the recogniser takes for a face), look again with
   * a border around it, as training does (lib/face/_border.ts). A face
   * that fills a tightly cropped photo is found only then. Costs one or
   * two more detections on faceless pictures; default false.
   */
  photo?: boolean;
}

/**
 * Detects and describes the faces in a grey or RGB picture, as
 * {@linkcode recognise} does before naming them: for tools that weigh other
 * rules on the same descriptors.
 */
export function describeFaces(
  image: Image,
  options: RecogniseOptions,
): DescribedFace[] {
  const grey = toGrey(image);
  if (options.whole) {
    return describeBoxes(
      image,
      [{ x: 0, y: 0, w: grey.width, h: grey.height }],
      options,
    );
  }
  const detector = options.detector;
  if (!detector) throw new Error("recognise needs a face detector");
  const faces = describeBoxes(
    image,
    detector.detect(grey, options.detect),
    options,
  );
  if (faces.length > 0 || !options.photo) return faces;
  let found: DescribedFace[] = [];
  detectWithBorder(grey, detector, {
    detect: options.detect,
    accept: (box) => (found = describeBoxes(image, [box], options)).length > 0,
  });
  return found;
}

/** Detects and names every face in a grey or RGB picture. */
export function recognise(
  image: Image,
  options: RecogniseOptions,
): Face[] {
  return nameDescribed(describeFaces(image, options), options);
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
