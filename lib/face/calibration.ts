/**
 * Chooses the "unknown" distance threshold from the training set itself.
 *
 * Leave-one-out on the training descriptors, with the recogniser's own
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
 * split.
 *
 * @module
 */

import type { Recognizer } from "./recognizer.ts";

/** How much wider than the training-set split the threshold is set (see above). */
export const CALIBRATION_MARGIN = 1.15;

/** What calibration found. */
export interface Calibration {
  /** The chosen threshold: a distance at or above it is `unknown`. */
  threshold: number;
  /** The best split of the training-set samples, before the margin. */
  split: number;
  /** Share of known-person samples below the threshold (would be named). */
  knownAccepted: number;
  /** Share of stranger samples at or above the threshold (would be `unknown`). */
  unknownRejected: number;
  /** Number of known samples (faces whose person has at least 2 faces). */
  knownSamples: number;
  /** Number of stranger samples (needs at least 2 people). */
  unknownSamples: number;
}

/**
 * Leave-one-out nearest distances between the recogniser's training faces:
 * `known` to the same person's other faces, `unknown` to all other
 * people's faces (a face with no such other face gives no sample).
 */
export function leaveOneOutDistances(
  recognizer: Recognizer,
): { known: number[]; unknown: number[] } {
  const { descriptors, labels } = recognizer.pack();
  const size = recognizer.descriptorSize;
  const n = labels.length;
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    rows.push(descriptors.subarray(i * size, (i + 1) * size));
  }
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

function rates(
  known: number[],
  unknown: number[],
  split: number,
  threshold: number,
): Calibration {
  return {
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
