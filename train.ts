/**
 * Trains a recogniser from `train/<person>/<images>` and saves it in
 * OpenCV's own YAML format (readable by `cv2.face.LBPHFaceRecognizer.read`).
 *
 * ```sh
 * deno task train --train train --out model.yml [--faces detect|whole]
 * ```
 *
 * @module
 */

import {
  choiceFlag,
  numberFlag,
  parseFlags,
  runMain,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import { FaceDetector } from "./lib/face/detector.ts";
import { saveModel } from "./lib/face/model_file.ts";
import {
  type FaceMode,
  summaryLine,
  trainFromFolder,
} from "./lib/face/training.ts";

const HELP = `facezmq train: learn faces from a folder and save the model.

Usage: deno task train [--train DIR] --out FILE [options]

  --train DIR            DIR/<person name>/<photos> (default train)
  --out FILE             where to save the model (OpenCV YAML, e.g. model.yml)
  --faces detect|whole   find the largest face in each photo (default), or
                         use each image exactly as given (already a face)
  --threshold N          distance at or above which a face is "unknown"
                         (default: calibrated on the training set)
  --radius N             LBP radius (default 1)
  --neighbors N          LBP sample points (default 8)
  --grid-x N, --grid-y N histogram grid (default 8 x 8)
  -h, --help             this text
`;

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
      train: { type: "string", default: "train" },
      out: { type: "string" },
      faces: { type: "string", default: "detect" },
      threshold: { type: "string" },
      radius: { type: "string" },
      neighbors: { type: "string" },
      "grid-x": { type: "string" },
      "grid-y": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const out = stringFlag(values, "out");
  if (!out) {
    throw new UsageError("--out FILE is needed (where to save the model)");
  }
  const faces = choiceFlag<FaceMode>(values, "faces", ["detect", "whole"]);
  const lbph = {
    radius: numberFlag(values, "radius", { min: 1, max: 32, integer: true }),
    neighbors: numberFlag(values, "neighbors", {
      min: 1,
      max: 16,
      integer: true,
    }),
    gridX: numberFlag(values, "grid-x", { min: 1, max: 64, integer: true }),
    gridY: numberFlag(values, "grid-y", { min: 1, max: 64, integer: true }),
  };
  const detector = faces === "detect" ? await FaceDetector.create() : undefined;
  const dir = stringFlag(values, "train")!;
  console.error(`training from ${dir} (${faces} faces)...`);
  const result = await trainFromFolder(dir, {
    faces,
    detector,
    lbph,
    threshold: numberFlag(values, "threshold", { min: 0 }),
    onWarning: (line) => console.error(line),
    onProgress: (person, n) => console.error(`  ${person}: ${n} faces`),
  });
  detector?.close();
  console.error(summaryLine(result));
  if (result.calibration) {
    const c = result.calibration;
    console.error(
      `calibration: ${
        (c.knownAccepted * 100).toFixed(1)
      }% of known faces accepted, ` +
        `${
          (c.unknownRejected * 100).toFixed(1)
        }% of strangers rejected (leave-one-out on the training set)`,
    );
  }
  await saveModel(out, result.recognizer);
  console.error(`saved ${out}`);
  return 0;
}

if (import.meta.main) runMain(main);
