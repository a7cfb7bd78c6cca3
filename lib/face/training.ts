/**
 * Trains a recogniser (LBPH by default) from a folder laid out as
 * `train/<person>/<images>`: the person's name is the folder's name.
 *
 * In `detect` mode (the default) the largest face of each image is found and
 * described as the server describes faces; in `whole` mode each image
 * already is a face and is used exactly as given. Images that cannot be
 * read, or hold no face, are skipped with one warning each.
 *
 * @module
 */

import { calibrateThreshold, type Calibration } from "./calibration.ts";
import type { DetectOptions, FaceDetector } from "./detector.ts";
import { largestFace } from "./detector.ts";
import type { FacePrepOptions } from "./face_prep.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import { decodeImage } from "../images/image_io.ts";
import { type LbphOptions, LbphRecognizer } from "./lbph.ts";
import type { Recognizer, RecognizerKind } from "./recognizer.ts";
import { createRecognizer } from "./recognizers.ts";

/** How training images are turned into faces. */
export type FaceMode = "detect" | "whole";

/** Training images larger than this many bytes are skipped. */
export const MAX_TRAINING_FILE_BYTES = 50 * 1024 * 1024;

/** Detection parameters for training photos (any size, one face each). */
export const TRAINING_DETECT_OPTIONS: Readonly<DetectOptions> = {
  scaleFactor: 1.1,
  minNeighbors: 5,
  maxWidth: 800,
};

/** Options for {@linkcode trainFromFolder}. */
export interface TrainOptions {
  /** `detect` (default) or `whole`. */
  faces?: FaceMode;
  /** Needed in `detect` mode. */
  detector?: FaceDetector;
  /** Detection parameters. Default {@linkcode TRAINING_DETECT_OPTIONS}. */
  detect?: DetectOptions;
  /** Which recogniser to train. Default `lbph`. */
  recognizer?: RecognizerKind;
  /** LBPH parameters (OpenCV's defaults otherwise); LBPH only. */
  lbph?: Omit<LbphOptions, "threshold" | "prep">;
  /** How LBPH prepares detected faces; kept by the recogniser. */
  prep?: FacePrepOptions;
  /**
   * Unknown threshold. Default: calibrated on the training set; when that is
   * impossible (one person, or one photo each), no threshold.
   */
  threshold?: number;
  /** Called once per skipped file or folder. Default: `console.warn`. */
  onWarning?: (message: string) => void;
  /** Called after each person. */
  onProgress?: (person: string, faces: number) => void;
}

/** What training produced. */
export interface TrainResult {
  /** The trained recogniser (names in `labelNames`). */
  recognizer: Recognizer;
  /** Faces used per person, in label order. */
  facesPerPerson: Map<string, number>;
  /** Files skipped, with the reason. */
  skipped: { file: string; reason: string }[];
  /** How the threshold was chosen, when calibrated. */
  calibration?: Calibration;
}

/** One line for the log: `trained 4 people: s1 5, s2 5, ...`. */
export function summaryLine(result: TrainResult): string {
  const parts = [...result.facesPerPerson].map(([name, n]) => `${name} ${n}`);
  const threshold = result.recognizer.threshold;
  const thresholdText = Number.isFinite(threshold) && threshold < 1e300
    ? `, unknown threshold ${threshold.toFixed(1)}${
      result.calibration ? " (calibrated)" : ""
    }`
    : "";
  return `trained ${result.facesPerPerson.size} people, ${
    [...result.facesPerPerson.values()].reduce((a, b) => a + b, 0)
  } faces (${parts.join(", ")})${thresholdText}` +
    (result.skipped.length ? `, ${result.skipped.length} files skipped` : "");
}

/**
 * Finds the face in one grey training image: the largest detection; when none
 * is found (tightly cropped photos such as ORL's), detection is retried on the
 * image placed in the middle of a larger canvas.
 */
export function findTrainingFace(
  grey: Image,
  detector: FaceDetector,
  options: DetectOptions = TRAINING_DETECT_OPTIONS,
): Box | undefined {
  const direct = largestFace(detector.detect(grey, options));
  if (direct) return direct;
  const padX = Math.round(grey.width / 2);
  const padY = Math.round(grey.height / 2);
  const canvas = padGrey(grey, padX, padY);
  const found = largestFace(detector.detect(canvas, options));
  if (!found) return undefined;
  // Map back, clipped to the original image.
  const x0 = Math.max(0, found.x - padX);
  const y0 = Math.max(0, found.y - padY);
  const x1 = Math.min(grey.width, found.x + found.w - padX);
  const y1 = Math.min(grey.height, found.y + found.h - padY);
  if (x1 - x0 < found.w / 2 || y1 - y0 < found.h / 2) return undefined;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Places a grey image in the middle of a canvas filled with its edge pixels. */
function padGrey(grey: Image, padX: number, padY: number): Image {
  const width = grey.width + 2 * padX;
  const height = grey.height + 2 * padY;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(y - padY, 0), grey.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(x - padX, 0), grey.width - 1);
      data[y * width + x] = grey.data[sy * grey.width + sx];
    }
  }
  return { width, height, channels: 1, data };
}

/** Lists `dir`'s entries sorted by name, with a clear error for a bad folder. */
async function listFolder(dir: string): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`training folder ${dir} does not exist`);
    }
    if (error instanceof Deno.errors.NotADirectory) {
      throw new Error(`training folder ${dir} is not a folder`);
    }
    throw new Error(
      `cannot read training folder ${dir}: ${(error as Error).message}`,
    );
  }
  return entries
    .filter((entry) => !entry.name.startsWith("."))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads one training image (grey or RGB), or returns why it cannot be used. */
async function readTrainingImage(
  path: string,
  grey: boolean,
): Promise<Image | string> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path); // follows links; a loop fails here
  } catch (error) {
    return `cannot open it (${(error as Error).message})`;
  }
  if (!info.isFile) return "not a regular file";
  if (info.size === 0) return "empty file";
  if (info.size > MAX_TRAINING_FILE_BYTES) {
    return `too large (${info.size} bytes, limit ${MAX_TRAINING_FILE_BYTES})`;
  }
  try {
    const bytes = await Deno.readFile(path);
    return decodeImage(bytes, { name: path, grey });
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * Trains from `dir` (`<dir>/<person>/<images>`). Throws a clear error when the
 * folder is missing or holds no usable face at all.
 */
export async function trainFromFolder(
  dir: string,
  options: TrainOptions = {},
): Promise<TrainResult> {
  const mode = options.faces ?? "detect";
  if (mode !== "detect" && mode !== "whole") {
    throw new Error(`--faces must be "detect" or "whole", not "${mode}"`);
  }
  if (mode === "detect" && !options.detector) {
    throw new Error("detect mode needs a face detector");
  }
  const warn = options.onWarning ??
    ((message: string) => console.warn(message));
  const kind = options.recognizer ?? "lbph";
  const recognizer = await createRecognizer(kind, {
    params: kind === "lbph"
      ? new LbphRecognizer({ ...options.lbph, prep: options.prep }).params
      : undefined,
  });
  const skipped: { file: string; reason: string }[] = [];
  const skip = (file: string, reason: string) => {
    skipped.push({ file, reason });
    warn(`warning: skipping ${file}: ${reason}`);
  };

  const descriptors: Float32Array[] = [];
  const labels: number[] = [];
  const names = new Map<number, string>();
  const facesPerPerson = new Map<string, number>();
  let nextLabel = 0;

  const people = await listFolder(dir);
  for (const person of people) {
    const personPath = `${dir}/${person.name}`;
    let isDir = person.isDirectory;
    if (person.isSymlink) {
      try {
        isDir = (await Deno.stat(personPath)).isDirectory;
      } catch (error) {
        skip(personPath, `broken link (${(error as Error).message})`);
        continue;
      }
    }
    if (!isDir) {
      // Notes such as README.md may sit beside the people's folders.
      if (!/\.(md|txt)$/i.test(person.name)) {
        skip(personPath, "not a folder (put images in <train>/<person>/)");
      }
      continue;
    }
    const label = nextLabel;
    let count = 0;
    for (const entry of await listFolder(personPath)) {
      const file = `${personPath}/${entry.name}`;
      if (entry.isDirectory) {
        skip(file, "a folder inside a person's folder (only images are read)");
        continue;
      }
      const image = await readTrainingImage(file, recognizer.channels === 1);
      if (typeof image === "string") {
        skip(file, image);
        continue;
      }
      const whole = { x: 0, y: 0, w: image.width, h: image.height };
      const box = mode === "whole"
        ? whole
        : findTrainingFace(toGrey(image), options.detector!, options.detect);
      if (!box) {
        skip(file, "no face found");
        continue;
      }
      try {
        descriptors.push(
          recognizer.describe(image, box, { whole: mode === "whole" }),
        );
      } catch (error) {
        skip(file, (error as Error).message);
        continue;
      }
      labels.push(label);
      count++;
    }
    if (count === 0) {
      warn(`warning: no usable face for ${person.name} in ${personPath}`);
      continue;
    }
    names.set(label, person.name);
    facesPerPerson.set(person.name, count);
    options.onProgress?.(person.name, count);
    nextLabel++;
  }
  if (descriptors.length === 0) {
    throw new Error(
      `no usable faces in ${dir}: put photos in ${dir}/<person name>/ (JPEG, PNG or PGM)`,
    );
  }

  recognizer.add(descriptors, labels);
  for (const [label, name] of names) recognizer.labelNames.set(label, name);

  let calibration: Calibration | undefined;
  if (options.threshold !== undefined) {
    recognizer.threshold = options.threshold;
  } else {
    try {
      calibration = calibrateThreshold(recognizer);
      recognizer.threshold = calibration.threshold;
    } catch {
      // One person or one photo each: nothing to calibrate on; no threshold.
    }
  }
  return { recognizer, facesPerPerson, skipped, calibration };
}
