/**
 * The seam every face recogniser fits, in the spirit of OpenCV's
 * `cv::face::FaceRecognizer`: a recogniser turns the face at a box of a frame
 * into a descriptor (LBPH: a spatial histogram of the cropped, equalised grey
 * face; resnet: dlib's 128-number embedding of the aligned face), keeps the
 * descriptors of the people it was trained on, and finds the nearest two
 * people to a new descriptor. Everything else (naming with the unknown
 * rules, training from folders, calibration, model files, packing for worker
 * threads) is written once against this interface.
 *
 * A recogniser is made by kind in lib/face/recognizers.ts; each kind's module
 * exports a {@linkcode RecognizerFactory}.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";

/** The recognisers facezmq has. */
export type RecognizerKind = "lbph" | "resnet";

/** The recogniser kinds, for flags and model files. */
export const RECOGNIZER_KINDS: readonly RecognizerKind[] = ["lbph", "resnet"];

/** A training face's label and its distance to a query. */
export interface Match {
  /** The training face's label (a person). */
  label: number;
  /** Distance to the query (lower is closer; the unit is the recogniser's). */
  distance: number;
}

/** The nearest training face, and the nearest face of any other person. */
export interface Nearest {
  /** The nearest training face. */
  best: Match;
  /** The nearest face of a person other than `best`'s; null if none. */
  runnerUp: Match | null;
}

/**
 * A recogniser as one structured-clonable object: what worker threads are
 * sent and what model files hold. `descriptors` holds `labels.length`
 * descriptors of `descriptorSize` numbers each, one after another.
 */
export interface PackedRecognizer {
  /** Which recogniser this is. */
  kind: RecognizerKind;
  /**
   * The recogniser's own parameters, everything needed to make an empty one
   * that describes faces the same way (LBPH: radius, neighbors, grid, face
   * preparation).
   */
  params: Record<string, number>;
  /** Distances at or above this are `unknown`. */
  threshold: number;
  /** Every training descriptor, one after another. */
  descriptors: Float32Array;
  /** Label of each descriptor. */
  labels: number[];
  /** Names by label. */
  names: [number, string][];
}

/** Options of a {@linkcode RecognizerFactory}. */
export interface RecognizerOptions {
  /**
   * Parameters as {@linkcode PackedRecognizer.params} holds them; missing
   * ones take the recogniser's defaults, unknown ones are refused.
   */
  params?: Readonly<Record<string, number>>;
  /** Distances at or above this are `unknown` (default: the recogniser's). */
  threshold?: number;
}

/**
 * Makes an empty recogniser of one kind: what a kind's module exports
 * (asynchronous when it loads a network first).
 */
export type RecognizerFactory = (
  options?: RecognizerOptions,
) => Recognizer | Promise<Recognizer>;

/** Options of {@linkcode Recognizer.describe}. */
export interface DescribeOptions {
  /**
   * The frame is one face, used as given (pre-cropped training sets such as
   * ORL): LBPH takes the whole frame without cropping, resizing or
   * equalising it. Default false.
   */
  whole?: boolean;
}

/** One face recogniser (LBPH, resnet). */
export interface Recognizer {
  /** Which recogniser this is. */
  readonly kind: RecognizerKind;
  /** Numbers in one descriptor. */
  readonly descriptorSize: number;
  /**
   * The pixels {@linkcode Recognizer.describe} works on: 1 grey (LBPH), 3
   * RGB (resnet). A caller that holds both passes this one; either works.
   */
  readonly channels: 1 | 3;
  /** Distances at or above this are `unknown`. */
  threshold: number;
  /** Names by label. */
  readonly labelNames: Map<number, string>;
  /** Number of training faces. */
  readonly size: number;
  /** Label of each training face. */
  readonly labels: readonly number[];
  /**
   * The descriptor of the face at `box` in `frame` (grey or RGB). The
   * recogniser crops, aligns and normalises the face as its training did.
   *
   * Null when the recogniser can tell that the box holds no face (resnet:
   * the landmarks do not fit a face's shape, as on a hand or a necktie
   * Haar took for a face): such a box is not named, not sent and not
   * trained on. A recogniser that cannot tell (LBPH) always returns a
   * descriptor, and so does every recogniser in `whole` mode, where the
   * caller says the frame is a face.
   */
  describe(
    frame: Image,
    box: Box,
    options?: DescribeOptions,
  ): Float32Array | null;
  /** Adds training faces by their descriptors (OpenCV's `update`). */
  add(descriptors: readonly Float32Array[], labels: readonly number[]): void;
  /** The nearest training face and the nearest of anybody else. */
  nearestTwo(descriptor: Float32Array): Nearest;
  /** The distance between two descriptors. */
  distance(a: Float32Array, b: Float32Array): number;
  /** This recogniser as one structured-clonable object. */
  pack(): PackedRecognizer;
}

/**
 * Adds the training faces and names of `packed` to `recognizer` (made with
 * `packed`'s kind and parameters): what unpacking does once the recogniser
 * exists, whatever its kind.
 */
export function addPacked(
  recognizer: Recognizer,
  packed: PackedRecognizer,
): void {
  const n = recognizer.descriptorSize;
  const descriptors: Float32Array[] = [];
  for (let i = 0; i < packed.labels.length; i++) {
    descriptors.push(packed.descriptors.subarray(i * n, (i + 1) * n));
  }
  if (descriptors.length > 0) recognizer.add(descriptors, packed.labels);
  for (const [label, name] of packed.names) {
    recognizer.labelNames.set(label, name);
  }
}
