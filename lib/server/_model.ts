/**
 * The recogniser a server or remote worker starts with: loaded from a model
 * file or trained from a folder, with the detector that training needs, and
 * the line that says which unknown threshold is in force.
 *
 * @module
 */

import { FaceDetector } from "../face/detector.ts";
import { obtainModel } from "../face/model_source.ts";
import type { Recognizer, RecognizerKind } from "../face/recognizer.ts";
import type { FaceMode } from "../face/training.ts";

/** Where the recogniser comes from (the model flags). */
export interface ModelSource {
  /** A model file to load. */
  model?: string;
  /** A training folder `<dir>/<person>/<photos>`. Default `train`. */
  train?: string;
  /** How training photos become faces. Default `detect`. */
  faces?: FaceMode;
  /** Which recogniser to train. Default `lbph`. */
  recognizer?: RecognizerKind;
  /** Overrides the unknown threshold. */
  threshold?: number;
}

/** The detector and the recogniser, ready to use. */
export interface BuiltModel {
  /** The detector (the caller closes it). */
  detector: FaceDetector;
  /** The recogniser. */
  recognizer: Recognizer;
}

/** Loads or trains the recogniser, logging progress to `log`. */
export async function buildModel(
  source: ModelSource,
  log: (line: string) => void,
): Promise<BuiltModel> {
  const detector = await FaceDetector.create();
  try {
    return {
      detector,
      recognizer: await obtainModel({ ...source, detector, log }),
    };
  } catch (error) {
    detector.close();
    throw error;
  }
}

/** `unknown threshold 99.1`, or that there is none. */
export function thresholdText(threshold: number): string {
  return Number.isFinite(threshold) && threshold < 1e300
    ? `unknown threshold ${Number(threshold.toPrecision(3))}`
    : "no unknown threshold (every face gets the nearest name)";
}
