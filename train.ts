/**
 * Trains a recogniser from `train/<person>/<images>` and saves it in
 * OpenCV's own YAML format (readable by `cv2.face.LBPHFaceRecognizer.read`),
 * with {@linkcode trainFromFolder} of lib/face/training.ts.
 *
 * ```sh
 * deno task train --train train --out model.yml [--faces detect|whole]
 * ```
 *
 * @module
 */

import {
  type Flags,
  numberFlag,
  type ParsedArgs,
  runCommand,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import {
  modelFlags,
  modelHelp,
  modelOptionsFrom,
} from "./lib/cli/model_flags.ts";
import { FaceDetector } from "./lib/face/detector.ts";
import { saveModel } from "./lib/face/model_file.ts";
import {
  summaryLine,
  trainFromFolder,
  type TrainOptions,
} from "./lib/face/training.ts";

const MODEL_FLAGS = ["train", "faces", "recognizer", "threshold"] as const;

const HELP = `facezmq train: learn faces from a folder and save the model.

Usage: deno task train [--train DIR] --out FILE [options]

  --out FILE             where to save the model (OpenCV YAML, e.g. model.yml)
${modelHelp(...MODEL_FLAGS)}
  --radius N             LBP radius (default 1)
  --neighbors N          LBP sample points (default 8)
  --grid-x N, --grid-y N histogram grid (default 8 x 8)
  -h, --help             this text
`;

const FLAGS = {
  out: { type: "string" },
  ...modelFlags(...MODEL_FLAGS),
  radius: { type: "string" },
  neighbors: { type: "string" },
  "grid-x": { type: "string" },
  "grid-y": { type: "string" },
} as const;

async function main({ values }: ParsedArgs): Promise<number> {
  const out = stringFlag(values, "out");
  if (!out) {
    throw new UsageError("--out FILE is needed (where to save the model)");
  }
  const { train = "train", ...options } = trainOptionsFrom(values);
  const detector = options.faces === "detect"
    ? await FaceDetector.create()
    : undefined;
  console.error(`training from ${train} (${options.faces} faces)...`);
  const result = await trainFromFolder(train, { ...options, detector });
  detector?.close();
  console.error(summaryLine(result));
  await saveModel(out, result.recognizer);
  console.error(`saved ${out}`);
  return 0;
}

/** Training as the flags say, and where from. */
function trainOptionsFrom(values: Flags): TrainOptions & { train?: string } {
  const { train, faces, threshold, recognizer } = modelOptionsFrom(values);
  return {
    train,
    faces,
    threshold,
    recognizer,
    lbph: {
      radius: numberFlag(values, "radius", { min: 1, max: 32, integer: true }),
      neighbors: numberFlag(values, "neighbors", {
        min: 1,
        max: 16,
        integer: true,
      }),
      gridX: numberFlag(values, "grid-x", { min: 1, max: 64, integer: true }),
      gridY: numberFlag(values, "grid-y", { min: 1, max: 64, integer: true }),
    },
    onWarning: (line) => console.error(line),
    onProgress: (person, n) => console.error(`  ${person}: ${n} faces`),
  };
}

if (import.meta.main) runCommand(main, { help: HELP, flags: FLAGS });
