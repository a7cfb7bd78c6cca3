/**
 * The model flags shared by `train`, `server`, `worker` and `recognize`:
 * where the recogniser comes from (`--model`, `--train`, `--faces`,
 * `--recognizer`) and how faces are named (`--threshold`, `--ambiguity`).
 * Each command takes the subset it understands, so a flag it would ignore
 * is refused instead.
 *
 * @module
 */

import { choiceFlag, type Flags, numberFlag, UsageError } from "./flags.ts";
import { UNKNOWN_RULES } from "../face/naming.ts";
import { RECOGNIZER_KINDS, type RecognizerKind } from "../face/recognizer.ts";
import type { FaceMode } from "../face/training.ts";

/** Where the recogniser comes from and how faces are named, from the flags. */
export interface ModelOptions {
  /** A model file to load. */
  model?: string;
  /** A training folder `<dir>/<person>/<photos>`. */
  train?: string;
  /** How photos become faces. */
  faces: FaceMode;
  /** Which recogniser to train (a model file says its own). */
  recognizer: RecognizerKind;
  /** Distance at or above which a face is `unknown`. */
  threshold?: number;
  /** Best/runner-up distance ratio above which a face is `unknown`. */
  ambiguity?: number;
}

const FLAGS = {
  train: { type: "string" },
  model: { type: "string" },
  faces: { type: "string", default: "detect" },
  recognizer: { type: "string", default: "lbph" },
  threshold: { type: "string" },
  ambiguity: { type: "string" },
} as const;

/** The name of one model flag. */
export type ModelFlag = keyof typeof FLAGS;

const HELP: Record<ModelFlag, string> = {
  train:
    `  --train DIR            train from DIR/<person>/<photos> (default train)`,
  model:
    `  --model FILE           load a model saved by "deno task train" (or cv2.face)`,
  faces:
    `  --faces detect|whole   photos: find the face in each (default), or take
                         each image as one face, as it is`,
  recognizer: `  --recognizer lbph|resnet
                         how faces are compared: LBPH histograms (default)
                         or a ResNet embedding`,
  threshold:
    `  --threshold N          distance at or above which a face is "unknown"
                         (default: the model's, set from the bundled strangers)`,
  ambiguity:
    `  --ambiguity R          name a face only if its best distance is at most R
                         times the next person's (default: lbph ${UNKNOWN_RULES.lbph.ambiguity},
                         resnet ${UNKNOWN_RULES.resnet.ambiguity}; 1 = always name the nearest person)`,
};

/** All the model flags, in help order. */
const ALL = Object.keys(FLAGS) as ModelFlag[];

/** The flag definitions for `parseFlags`: `names`, or all of them. */
export function modelFlags(
  ...names: ModelFlag[]
): Partial<typeof FLAGS> {
  return Object.fromEntries(
    (names.length ? names : ALL).map((name) => [name, FLAGS[name]]),
  );
}

/** The help lines of `names`, or of all the model flags. */
export function modelHelp(...names: ModelFlag[]): string {
  const wanted = names.length ? names : ALL;
  return ALL.filter((name) => wanted.includes(name)).map((name) => HELP[name])
    .join("\n");
}

/** Reads the model flags that were defined (see {@linkcode modelFlags}). */
export function modelOptionsFrom(values: Flags): ModelOptions {
  if (values.train !== undefined && values.model !== undefined) {
    throw new UsageError("give --train or --model, not both");
  }
  return {
    model: typeof values.model === "string" ? values.model : undefined,
    train: typeof values.train === "string" ? values.train : undefined,
    faces: values.faces === undefined
      ? "detect"
      : choiceFlag<FaceMode>(values, "faces", ["detect", "whole"]),
    recognizer: values.recognizer === undefined
      ? "lbph"
      : choiceFlag(values, "recognizer", RECOGNIZER_KINDS),
    threshold: numberFlag(values, "threshold", { min: 0 }),
    ambiguity: numberFlag(values, "ambiguity", { min: 0, max: 1 }),
  };
}
