/**
 * Names the faces in image files, one JSON line per image on stdout, with
 * {@linkcode recognise} of lib/face/naming.ts and a model loaded (or
 * trained) by {@linkcode obtainModel}.
 *
 * ```sh
 * deno task recognize --model model.yml [--faces detect|whole] IMAGE...
 * ```
 *
 * @module
 */

import { type ParsedArgs, runCommand, UsageError } from "./lib/cli/flags.ts";
import {
  modelFlags,
  modelHelp,
  modelOptionsFrom,
} from "./lib/cli/model_flags.ts";
import { FaceDetector } from "./lib/face/detector.ts";
import { readImage } from "./lib/images/image_io.ts";
import { obtainModel } from "./lib/face/model_source.ts";
import { recognise, type RecogniseOptions } from "./lib/face/naming.ts";
import { TRAINING_DETECT_OPTIONS } from "./lib/face/training.ts";

const HELP = `facezmq recognize: who is in these photos?

Usage: deno task recognize --model FILE [options] IMAGE...

${modelHelp()}
  -h, --help             this text

Prints one line per image:
  {"file":…,"faces":[{"x":…,"y":…,"w":…,"h":…,"label":"name or unknown","distance":…}]}
A face that fills the photo is looked for again with a border around it.
An image without a face gives "faces":[] and a note on stderr; one that
cannot be read gives {"file":…,"error":…} and exit code 1.
`;

async function main({ values, positionals }: ParsedArgs): Promise<number> {
  const options = modelOptionsFrom(values);
  if (options.model === undefined && options.train === undefined) {
    throw new UsageError(
      "--model FILE is needed (make one with deno task train), or --train DIR",
    );
  }
  if (positionals.length === 0) {
    throw new UsageError("give one or more image files");
  }
  const detector = options.faces === "detect"
    ? await FaceDetector.create()
    : undefined;
  const recognizer = await obtainModel({ ...options, detector });
  let failures = 0;
  for (const file of positionals) {
    const line = await recogniseFile(file, {
      recognizer,
      detector,
      detect: TRAINING_DETECT_OPTIONS,
      photo: true,
      whole: options.faces === "whole",
      ambiguity: options.ambiguity,
    });
    if ("error" in line) failures++;
    console.log(JSON.stringify(line));
  }
  detector?.close();
  return failures > 0 ? 1 : 0;
}

/** One photo's JSON line; a photo without a face is noted on stderr. */
async function recogniseFile(
  file: string,
  options: RecogniseOptions,
): Promise<
  { file: string; faces: unknown[] } | { file: string; error: string }
> {
  let found;
  try {
    // In colour for a recogniser that sees colour (resnet).
    const image = await readImage(file, {
      grey: options.recognizer.channels === 1,
    });
    found = recognise(image, options);
  } catch (error) {
    return { file, error: (error as Error).message };
  }
  if (found.length === 0) console.error(`no face found in ${file}`);
  return {
    file,
    faces: found.map((f) => ({
      ...f,
      distance: Number(f.distance.toFixed(6)),
    })),
  };
}

if (import.meta.main) {
  runCommand(main, { help: HELP, flags: modelFlags(), positionals: true });
}
