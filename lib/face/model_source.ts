/**
 * Where a process gets its recogniser: a model file (`--model`) or a
 * training folder (`--train`), with the threshold override (`--threshold`).
 * Shared by the server, remote workers and `recognize`.
 *
 * @module
 */

import type { FaceDetector } from "./detector.ts";
import { loadModel } from "./model_file.ts";
import type { Recognizer, RecognizerKind } from "./recognizer.ts";
import { STRANGER_LABEL } from "./naming.ts";
import { type FaceMode, summaryLine, trainFromFolder } from "./training.ts";

/** Options for {@linkcode obtainModel}. */
export interface ModelSourceOptions {
  /** A model file to load (takes precedence over `train`). */
  model?: string;
  /** A training folder `<dir>/<person>/<images>`. */
  train?: string;
  /** How training images become faces. Default `detect`. */
  faces?: FaceMode;
  /**
   * Which recogniser to train. Default `lbph`. A model file says its own
   * kind, and that is what is loaded.
   */
  recognizer?: RecognizerKind;
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
): Promise<Recognizer> {
  const log = options.log ?? ((line: string) => console.error(line));
  let recognizer: Recognizer;
  if (options.model !== undefined) {
    recognizer = await loadModel(options.model);
    log(`loaded model ${options.model}: ${facesText(recognizer)}`);
  } else {
    const dir = options.train ?? "train";
    const kind = options.recognizer ?? "lbph";
    log(
      `training from ${dir} (${options.faces ?? "detect"} faces${
        kind === "lbph" ? "" : `, ${kind}`
      })...`,
    );
    const result = await trainFromFolder(dir, {
      faces: options.faces,
      recognizer: options.recognizer,
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

/**
 * `12 faces of 3 people (+50 bundled strangers)`: the people's faces, and
 * the strangers' that training keeps in the model (lib/face/training.ts).
 */
function facesText(recognizer: Recognizer): string {
  const strangers =
    recognizer.labels.filter((label) => label === STRANGER_LABEL).length;
  return `${
    recognizer.size - strangers
  } faces of ${recognizer.labelNames.size} people${
    strangers ? ` (+${strangers} bundled strangers)` : ""
  }`;
}
