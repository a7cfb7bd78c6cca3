/**
 * Where a process gets its recogniser: a model file (`--model`) or a
 * training folder (`--train`), with the threshold override (`--threshold`).
 * Shared by the server, remote workers and `recognize`.
 *
 * @module
 */

import type { FaceDetector } from "./detector.ts";
import type { LbphRecognizer } from "./lbph.ts";
import { loadModel } from "./model_file.ts";
import { type FaceMode, summaryLine, trainFromFolder } from "./training.ts";

/** Options for {@linkcode obtainModel}. */
export interface ModelSourceOptions {
  /** A model file to load (takes precedence over `train`). */
  model?: string;
  /** A training folder `<dir>/<person>/<images>`. */
  train?: string;
  /** How training images become faces. Default `detect`. */
  faces?: FaceMode;
  /** Overrides the unknown threshold. */
  threshold?: number;
  /** Needed to train in `detect` mode. */
  detector?: FaceDetector;
  /** Progress and warnings. Default: `console.error`. */
  log?: (line: string) => void;
}

/** Loads or trains the recogniser as the options say, logging progress. */
export async function obtainModel(
  options: ModelSourceOptions,
): Promise<LbphRecognizer> {
  const log = options.log ?? ((line: string) => console.error(line));
  let recognizer: LbphRecognizer;
  if (options.model !== undefined) {
    recognizer = await loadModel(options.model);
    log(
      `loaded model ${options.model}: ${recognizer.size} faces of ${recognizer.labelNames.size} people`,
    );
  } else {
    const dir = options.train ?? "train";
    log(`training from ${dir} (${options.faces ?? "detect"} faces)...`);
    const result = await trainFromFolder(dir, {
      faces: options.faces,
      detector: options.detector,
      threshold: options.threshold,
      onWarning: log,
      onProgress: (person, faces) => log(`  ${person}: ${faces} faces`),
    });
    log(summaryLine(result));
    recognizer = result.recognizer;
  }
  if (options.threshold !== undefined) recognizer.threshold = options.threshold;
  return recognizer;
}
