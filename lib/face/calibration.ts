/**
 * Learns the "unknown" threshold, and says how well the unknown rule of
 * lib/face/naming.ts separates people from strangers on the training set.
 *
 * With bundled strangers in the model (label -1, added by training; see
 * data/strangers/README.md), {@linkcode calibrateWithStrangers}: each
 * stranger's distance to its nearest trained face is measured, and the
 * threshold is {@linkcode UnknownRule.thresholdMargin} times the farthest
 * (LBPH: a loose outer bound that rejects only faces far from everybody,
 * leaving known-or-stranger to the ratio tests, which survive a change of
 * light that moves every distance) or the nearest of them (resnet, whose
 * distances stay put), at most {@linkcode UnknownRule.maxThreshold}.
 *
 * Without strangers, {@linkcode calibrateThreshold}, the rule before them:
 * leave-one-out on the training descriptors, with the recogniser's own
 * distance, gives two samples of distances:
 * - known: each face's nearest distance to the other faces of the same person
 *   (what a new photo of a known person looks like);
 * - unknown: each face's nearest distance to the faces of everybody else (what
 *   a stranger looks like, with that person left out of the model).
 * The split that best separates the two (highest balanced accuracy, at the
 * middle of the best range) is then widened by {@linkcode CALIBRATION_MARGIN}:
 * photos taken later, by another camera, are farther from every training
 * photo than the training photos are from each other, known people and
 * strangers alike. On ORL (people s1-s20 trained on images 1-5, tested on
 * images 6-10 as seen by a camera, strangers s21-s40; tools/eval_unknown.ts)
 * the best threshold for the test faces was 1.11-1.20 times the training-set
 * split. Under new light it is far from enough (tools/eval_unknown.ts,
 * `current`).
 *
 * @module
 */

import {
  isNamed,
  STRANGER_LABEL,
  UNKNOWN_RULES,
  type UnknownRule,
} from "./naming.ts";
import type { Recognizer } from "./recognizer.ts";

/** How much wider than the training-set split the threshold is set (see above). */
export const CALIBRATION_MARGIN = 1.15;

/** What calibration found. */
export interface Calibration {
  /**
   * What the threshold was learned from: the bundled `strangers`
   * ({@linkcode calibrateWithStrangers}) or the `training set` alone
   * ({@linkcode calibrateThreshold}).
   */
  method: "strangers" | "training set";
  /** The chosen threshold: a distance at or above it is `unknown`. */
  threshold: number;
  /**
   * The distance the threshold was derived from, before the margin: a
   * stranger's distance to its nearest trained face (the farthest or the
   * nearest stranger's, as the recogniser's rule says), or the best split of
   * the training-set samples.
   */
  split: number;
  /**
   * Share of known-person samples named right (leave-one-out: each face
   * against the rest of the model); NaN without samples.
   */
  knownAccepted: number;
  /**
   * Share of stranger samples left `unknown` (each stranger against the
   * model without that stranger's faces); NaN without samples.
   */
  unknownRejected: number;
  /** Number of known samples (faces whose person has at least 2 faces). */
  knownSamples: number;
  /** Number of stranger samples. */
  unknownSamples: number;
}

/**
 * Leave-one-out nearest distances between the recogniser's training faces of
 * people (bundled strangers are left out): `known` to the same person's
 * other faces, `unknown` to all other people's faces (a face with no such
 * other face gives no sample).
 */
export function leaveOneOutDistances(
  recognizer: Recognizer,
): { known: number[]; unknown: number[] } {
  const all = rowsOf(recognizer);
  const keep = all.labels.map((l, i) => l === STRANGER_LABEL ? -1 : i)
    .filter((i) => i >= 0);
  const rows = keep.map((i) => all.rows[i]);
  const labels = keep.map((i) => all.labels[i]);
  const n = labels.length;
  const known: number[] = new Array(n).fill(Infinity);
  const unknown: number[] = new Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const d = recognizer.distance(rows[i], rows[j]);
      if (labels[i] === labels[j]) {
        if (d < known[i]) known[i] = d;
        if (d < known[j]) known[j] = d;
      } else {
        if (d < unknown[i]) unknown[i] = d;
        if (d < unknown[j]) unknown[j] = d;
      }
    }
  }
  return {
    known: known.filter(Number.isFinite),
    unknown: unknown.filter(Number.isFinite),
  };
}

/**
 * Picks the threshold that best separates known from stranger distances.
 * Throws when the training set cannot say (fewer than 2 people, or nobody
 * with 2 faces): the caller then keeps a fixed default.
 */
export function calibrateThreshold(
  recognizer: Recognizer,
  options: { margin?: number } = {},
): Calibration {
  const { known, unknown } = leaveOneOutDistances(recognizer);
  if (known.length === 0 || unknown.length === 0) {
    throw new Error(
      "calibration needs at least 2 people and one person with 2 or more faces",
    );
  }
  const split = bestSplit(known, unknown).threshold;
  return rates(
    known,
    unknown,
    split,
    split * (options.margin ?? CALIBRATION_MARGIN),
  );
}

/** Options for {@linkcode calibrateWithStrangers}. */
export interface StrangerCalibrationOptions extends Partial<UnknownRule> {
  /**
   * Which stranger each stranger face shows, in the order of the model's
   * stranger faces: a stranger is judged without all of their own faces.
   * Default: each face is its own stranger.
   */
  strangers?: readonly number[];
}

/**
 * Learns the threshold from the bundled strangers in the model (label
 * {@linkcode STRANGER_LABEL}; see the module doc), and measures the whole
 * unknown rule leave-one-out: each known face against the rest of the model,
 * each stranger against the model without that stranger. Missing options
 * take the recogniser's {@linkcode UNKNOWN_RULES}.
 *
 * @throws {Error} when the model holds no stranger or no person.
 */
export function calibrateWithStrangers(
  recognizer: Recognizer,
  options: StrangerCalibrationOptions = {},
): Calibration {
  const rule = { ...UNKNOWN_RULES[recognizer.kind], ...options };
  const { rows, labels } = rowsOf(recognizer);
  const people = labels.map((l, i) => l === STRANGER_LABEL ? -1 : i)
    .filter((i) => i >= 0);
  const strangers = labels.map((l, i) => l === STRANGER_LABEL ? i : -1)
    .filter((i) => i >= 0);
  if (people.length === 0 || strangers.length === 0) {
    throw new Error("calibration with strangers needs people and strangers");
  }
  const group = new Map<number, number>(
    strangers.map((row, k) => [row, options.strangers?.[k] ?? -1 - k]),
  );
  const cache = new Map<number, number>();
  const distance = (i: number, j: number) => {
    const key = i < j ? i * rows.length + j : j * rows.length + i;
    let d = cache.get(key);
    if (d === undefined) {
      d = recognizer.distance(rows[i], rows[j]);
      cache.set(key, d);
    }
    return d;
  };
  const gaps = strangers.map((s) =>
    Math.min(...people.map((p) => distance(s, p)))
  );
  const base = rule.thresholdFrom === "nearest stranger"
    ? Math.min(...gaps)
    : Math.max(...gaps);
  const threshold = Math.min(rule.thresholdMargin * base, rule.maxThreshold);
  const verdict = { ...rule, threshold };
  // The rule on face `i` against the model without the faces `skip` says.
  const judge = (i: number, skip: (j: number) => boolean) => {
    let person = Infinity;
    let label = -1;
    let stranger = Infinity;
    for (const j of people) {
      if (j === i || skip(j)) continue;
      const d = distance(i, j);
      if (d < person) [person, label] = [d, labels[j]];
    }
    let other = Infinity;
    for (const j of people) {
      if (j !== i && !skip(j) && labels[j] !== label) {
        other = Math.min(other, distance(i, j));
      }
    }
    for (const j of strangers) {
      if (j !== i && !skip(j)) stranger = Math.min(stranger, distance(i, j));
    }
    return isNamed({ person, other, stranger }, verdict) ? label : -1;
  };
  const count = new Map<number, number>();
  for (const p of people) count.set(labels[p], (count.get(labels[p]) ?? 0) + 1);
  // Leave-one-out is quadratic: a large training set is sampled evenly.
  const known = spread(
    people.filter((p) => count.get(labels[p])! >= 2),
    MAX_KNOWN_SAMPLES,
  );
  const knownRight = known.filter((i) => judge(i, () => false) === labels[i]);
  const rejected = strangers.filter((s) =>
    judge(s, (j) => group.get(j) === group.get(s)) === -1
  );
  return {
    method: "strangers",
    threshold,
    split: base,
    knownAccepted: knownRight.length / known.length,
    unknownRejected: rejected.length / strangers.length,
    knownSamples: known.length,
    unknownSamples: strangers.length,
  };
}

/** Known faces judged by {@linkcode calibrateWithStrangers} at most. */
const MAX_KNOWN_SAMPLES = 200;

/** At most `n` of `items`, evenly spread. */
function spread<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from(
    { length: n },
    (_, k) => items[Math.floor((k * items.length) / n)],
  );
}

/** A recogniser's training faces one by one, with their labels. */
function rowsOf(
  recognizer: Recognizer,
): { rows: Float32Array[]; labels: readonly number[] } {
  const { descriptors, labels } = recognizer.pack();
  const size = recognizer.descriptorSize;
  const rows: Float32Array[] = [];
  for (let i = 0; i < labels.length; i++) {
    rows.push(descriptors.subarray(i * size, (i + 1) * size));
  }
  return { rows, labels };
}

function rates(
  known: number[],
  unknown: number[],
  split: number,
  threshold: number,
): Calibration {
  return {
    method: "training set",
    threshold,
    split,
    knownAccepted: known.filter((d) => d < threshold).length / known.length,
    unknownRejected: unknown.filter((d) => d >= threshold).length /
      unknown.length,
    knownSamples: known.length,
    unknownSamples: unknown.length,
  };
}

/** The threshold with the highest balanced accuracy between two samples. */
export function bestSplit(known: number[], unknown: number[]): Calibration {
  const candidates = [...new Set([...known, ...unknown])].sort((a, b) => a - b);
  // A threshold t accepts d < t. Try just above every observed distance.
  let bestScore = -1;
  let bestLow = 0;
  let bestHigh = 0;
  const sortedKnown = [...known].sort((a, b) => a - b);
  const sortedUnknown = [...unknown].sort((a, b) => a - b);
  let k = 0;
  let u = 0;
  for (let c = 0; c < candidates.length; c++) {
    const t = candidates[c];
    while (k < sortedKnown.length && sortedKnown[k] <= t) k++;
    while (u < sortedUnknown.length && sortedUnknown[u] <= t) u++;
    // Threshold just above t: known <= t accepted, unknown <= t wrongly accepted.
    const score = k / sortedKnown.length + (1 - u / sortedUnknown.length);
    const next = c + 1 < candidates.length ? candidates[c + 1] : t * 1.1 + 1;
    if (score > bestScore + 1e-12) {
      bestScore = score;
      bestLow = t;
      bestHigh = next;
    } else if (Math.abs(score - bestScore) <= 1e-12 && bestHigh === t) {
      bestHigh = next; // extend a run of equally good thresholds
    }
  }
  const threshold = (bestLow + bestHigh) / 2;
  return rates(known, unknown, threshold, threshold);
}
