/**
 * Names the faces in image files with a saved model, one JSON line per
 * image on stdout.
 *
 * ```sh
 * deno task recognize --model model.yml [--faces detect|whole] IMAGE...
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
import { readImage } from "./lib/images/image_io.ts";
import { loadModel } from "./lib/face/model_file.ts";
import { DEFAULT_AMBIGUITY, recognise } from "./lib/face/naming.ts";
import { type FaceMode, TRAINING_DETECT_OPTIONS } from "./lib/face/training.ts";

const HELP = `facezmq recognize: who is in these photos?

Usage: deno task recognize --model FILE [options] IMAGE...

  --model FILE           a model saved by "deno task train" (or cv2.face)
  --faces detect|whole   find the faces (default), or take each image as one
                         face, used exactly as given
  --threshold N          override the model's unknown threshold
  --ambiguity R          name a face only if its best distance is at most R
                         times the next person's (default ${DEFAULT_AMBIGUITY};
                         1 = always name the nearest person)
  -h, --help             this text

Prints one line per image:
  {"file":…,"faces":[{"x":…,"y":…,"w":…,"h":…,"label":"name or unknown","distance":…}]}
An image that cannot be read gives {"file":…,"error":…} and exit code 1.
`;

async function main(): Promise<number> {
  const { values, positionals } = parseFlags(Deno.args, {
    flags: {
      model: { type: "string" },
      faces: { type: "string", default: "detect" },
      threshold: { type: "string" },
      ambiguity: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    positionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const modelPath = stringFlag(values, "model");
  if (!modelPath) {
    throw new UsageError(
      "--model FILE is needed (make one with deno task train)",
    );
  }
  const faces = choiceFlag<FaceMode>(values, "faces", ["detect", "whole"]);
  if (positionals.length === 0) {
    throw new UsageError("give one or more image files");
  }
  const recognizer = await loadModel(modelPath);
  const threshold = numberFlag(values, "threshold", { min: 0 });
  const ambiguity = numberFlag(values, "ambiguity", { min: 0, max: 1 });
  if (threshold !== undefined) recognizer.threshold = threshold;
  const detector = faces === "detect" ? await FaceDetector.create() : undefined;
  let failures = 0;
  for (const file of positionals) {
    try {
      const image = await readImage(file, { grey: true });
      const found = recognise(image, {
        recognizer,
        detector,
        detect: TRAINING_DETECT_OPTIONS,
        whole: faces === "whole",
        ambiguity,
      });
      console.log(JSON.stringify({
        file,
        faces: found.map((f) => ({
          ...f,
          distance: Number(f.distance.toFixed(6)),
        })),
      }));
    } catch (error) {
      failures++;
      console.log(JSON.stringify({ file, error: (error as Error).message }));
    }
  }
  detector?.close();
  return failures > 0 ? 1 : 0;
}

if (import.meta.main) runMain(main);
