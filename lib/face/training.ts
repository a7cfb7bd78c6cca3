/**
 * Trains a recogniser (LBPH by default) from a folder laid out as
 * `train/<person>/<images>`: the person's name is the folder's name.
 *
 * In `detect` mode (the default) the largest face of each image is found and
 * described as the server describes faces; in `whole` mode each image
 * already is a face and is used exactly as given. Images that cannot be
 * read, or hold no face, are skipped with one warning each.
 *
 * The bundled strangers (data/strangers/, ORL people nobody trains on) are
 * described the same way and kept in the model as label -1, and the unknown
 * threshold is learned from them (lib/face/calibration.ts): the unknown rule
 * of lib/face/naming.ts then works for any number of people, one included.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import {
  calibrateThreshold,
  calibrateWithStrangers,
  type Calibration,
} from "./calibration.ts";
import type { DetectOptions, FaceDetector } from "./detector.ts";
import { largestFace } from "./detector.ts";
import { detectWithBorder } from "./_border.ts";
import type { FacePrepOptions } from "./face_prep.ts";
import { type Box, type Image, toGrey } from "../images/image.ts";
import { decodeImage } from "../images/image_io.ts";
import { type LbphOptions, LbphRecognizer } from "./lbph.ts";
import { STRANGER_LABEL, UNKNOWN_RULES } from "./naming.ts";
import type { Recognizer, RecognizerKind } from "./recognizer.ts";
import { createRecognizer } from "./recognizers.ts";

/**
 * The bundled strangers: `<dir>/<stranger>/<images>`, 10 ORL people x 5
 * photos (data/strangers/README.md).
 */
export const BUNDLED_STRANGERS: string = fileURLToPath(
  new URL("../../data/strangers", import.meta.url),
);

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
   * Parameters of another recogniser, as it packs them (resnet: `align` 0
   * or 1); LBPH's are `lbph` and `prep`.
   */
  params?: Readonly<Record<string, number>>;
  /**
   * Unknown threshold. Default: learned from the strangers; without them,
   * calibrated on the training set, and when that is impossible too (one
   * person, or one photo each), none (with a warning).
   */
  threshold?: number;
  /**
   * Folder of strangers (`<dir>/<stranger>/<images>`) kept in the model as
   * label -1, or false for none. Default {@linkcode BUNDLED_STRANGERS}.
   */
  strangers?: string | false;
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
  /** How the threshold was chosen, when it was learned. */
  calibration?: Calibration;
  /** Stranger faces kept in the model (label -1). */
  strangerFaces: number;
}

/**
 * One line for the log: who was trained, and the unknown rule in force with
 * where its threshold came from, e.g. `trained 4 people, 20 faces (s1 5,
 * ...); unknown unless nearer than 0.9 x anybody else and than all 50
 * stranger faces, and under 116.6 (1.1 x the farthest stranger's distance);
 * leave-one-out: 95% of known faces named, 98% of strangers unknown`.
 */
export function summaryLine(result: TrainResult): string {
  const parts = [...result.facesPerPerson].map(([name, n]) => `${name} ${n}`);
  const trained = `trained ${result.facesPerPerson.size} people, ${
    [...result.facesPerPerson.values()].reduce((a, b) => a + b, 0)
  } faces (${parts.join(", ")})`;
  const skipped = result.skipped.length
    ? `; ${result.skipped.length} files skipped`
    : "";
  return `${trained}; ${ruleText(result)}${skipped}`;
}

function ruleText(result: TrainResult): string {
  const recognizer = result.recognizer;
  const rule = UNKNOWN_RULES[recognizer.kind];
  const threshold = recognizer.threshold;
  const c = result.calibration;
  const than = [
    ...(result.facesPerPerson.size > 1
      ? [`${rule.ambiguity} x anybody else`]
      : []),
    ...(result.strangerFaces
      ? [`all ${result.strangerFaces} stranger faces`]
      : []),
  ];
  const unless = than.length
    ? `unknown unless nearer than ${than.join(" and than ")}`
    : "unknown";
  const limit = (origin: string) =>
    Number.isFinite(threshold) && threshold < Number.MAX_VALUE
      ? `, and under ${round(threshold)} (${origin})`
      : "";
  const loo = (c: Calibration) =>
    `; leave-one-out: ${
      c.knownSamples ? `${percent(c.knownAccepted)} of known faces named, ` : ""
    }${percent(c.unknownRejected)} of strangers unknown`;
  if (!c) {
    if (Number.isFinite(threshold) && threshold < Number.MAX_VALUE) {
      return unless + limit("given");
    }
    return than.length
      ? unless
      : "no unknown rule (one person and no strangers): every face gets that name";
  }
  if (c.method === "strangers") {
    const capped = threshold < rule.thresholdMargin * c.split;
    return unless +
      limit(
        capped
          ? `${recognizer.kind}'s ceiling`
          : `${rule.thresholdMargin} x the ${rule.thresholdFrom}'s distance`,
      ) + loo(c);
  }
  return unless +
    limit(`training-set split x ${round(threshold / c.split)}, no strangers`) +
    loo(c);
}

function round(x: number): string {
  return x >= 10 ? x.toFixed(1) : x.toPrecision(3);
}

function percent(share: number): string {
  return `${Math.round(share * 100)}%`;
}

/**
 * Finds the face in one grey training image: the largest detection; when none
 * is found (tightly cropped photos such as ORL's), detection is retried on the
 * image placed in the middle of a larger canvas (lib/face/_border.ts).
 */
export function findTrainingFace(
  grey: Image,
  detector: FaceDetector,
  options: DetectOptions = TRAINING_DETECT_OPTIONS,
): Box | undefined {
  return largestFace(detector.detect(grey, options)) ??
    detectWithBorder(grey, detector, { detect: options });
}

/**
 * Describes the face of one training photo: the largest box the recogniser
 * takes for a face (resnet turns down boxes whose landmarks do not fit a
 * face: a hand, a necktie), looking again with a border when there is none,
 * as {@linkcode findTrainingFace} does. For LBPH, which takes every box,
 * that is the face {@linkcode findTrainingFace} finds. A string says why
 * there is no face.
 */
function describeTrainingFace(
  image: Image,
  recognizer: Recognizer,
  detector: FaceDetector,
  options: DetectOptions = TRAINING_DETECT_OPTIONS,
): Float32Array | string {
  const grey = toGrey(image);
  // Largest first; a stable sort keeps largestFace's choice among equals.
  const boxes = detector.detect(grey, options).sort((a, b) =>
    b.w * b.h - a.w * a.h
  );
  for (const box of boxes) {
    const descriptor = recognizer.describe(image, box);
    if (descriptor) return descriptor;
  }
  const kept: { descriptor?: Float32Array } = {};
  detectWithBorder(grey, detector, {
    detect: options,
    accept: (box) => {
      kept.descriptor = recognizer.describe(image, box) ?? undefined;
      return kept.descriptor !== undefined;
    },
  });
  if (kept.descriptor) return kept.descriptor;
  return boxes.length > 0
    ? `no face found (${boxes.length} box${
      boxes.length === 1 ? "" : "es"
    } that ${recognizer.kind}'s landmarks call no face)`
    : "no face found";
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
    // The skip warning names the file already: keep only the reason.
    const message = (error as Error).message;
    return message.startsWith(`${path}: `)
      ? message.slice(path.length + 2)
      : message;
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
      : options.params,
  });
  const skipped: { file: string; reason: string }[] = [];
  const skip = (file: string, reason: string) => {
    skipped.push({ file, reason });
    warn(`warning: skipping ${file}: ${reason}`);
  };

  const context = { mode, detector: options.detector, detect: options.detect };
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
    const faces = await describeFolder(personPath, recognizer, context, skip);
    descriptors.push(...faces);
    labels.push(...faces.map(() => label));
    const count = faces.length;
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

  const strangerDir = options.strangers ?? BUNDLED_STRANGERS;
  let strangers: number[] = [];
  if (strangerDir !== false) {
    try {
      const found = await describeStrangers(strangerDir, recognizer, context);
      strangers = found.strangers;
      recognizer.add(
        found.descriptors,
        found.descriptors.map(() => STRANGER_LABEL),
      );
    } catch (error) {
      warn(
        `warning: no strangers from ${strangerDir} (${
          (error as Error).message
        }): "unknown" is learned from the training set alone`,
      );
    }
  }

  let calibration: Calibration | undefined;
  if (options.threshold !== undefined) {
    recognizer.threshold = options.threshold;
  } else if (strangers.length > 0) {
    calibration = calibrateWithStrangers(recognizer, { strangers });
    recognizer.threshold = calibration.threshold;
  } else {
    try {
      calibration = calibrateThreshold(recognizer);
      recognizer.threshold = calibration.threshold;
    } catch {
      if (names.size === 1) {
        warn(
          `warning: one person and no strangers: every face will be named ${
            [...names.values()][0]
          }`,
        );
      }
    }
  }
  return {
    recognizer,
    facesPerPerson,
    skipped,
    calibration,
    strangerFaces: strangers.length,
  };
}

/** How training turns an image into a face. */
interface DescribeContext {
  mode: FaceMode;
  detector?: FaceDetector;
  detect?: DetectOptions;
}

/** Describes the face in each image of one person's folder. */
async function describeFolder(
  personPath: string,
  recognizer: Recognizer,
  context: DescribeContext,
  skip: (file: string, reason: string) => void,
): Promise<Float32Array[]> {
  const faces: Float32Array[] = [];
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
    let face: Float32Array | string | null;
    try {
      face = context.mode === "whole"
        ? recognizer.describe(
          image,
          { x: 0, y: 0, w: image.width, h: image.height },
          { whole: true },
        )
        : describeTrainingFace(
          image,
          recognizer,
          context.detector!,
          context.detect,
        );
    } catch (error) {
      face = (error as Error).message;
    }
    if (face instanceof Float32Array) faces.push(face);
    else skip(file, face ?? "no face found");
  }
  return faces;
}

/**
 * Describes the strangers in `dir` (`<dir>/<stranger>/<images>`) exactly as
 * the training photos were; `strangers` says whose each face is. A photo
 * without a face is left out quietly: the set is ours, not the user's.
 *
 * @throws {Error} when the folder gives no face at all.
 */
async function describeStrangers(
  dir: string,
  recognizer: Recognizer,
  context: DescribeContext,
): Promise<{ descriptors: Float32Array[]; strangers: number[] }> {
  const descriptors: Float32Array[] = [];
  const strangers: number[] = [];
  const folders = (await listFolder(dir)).filter((e) => e.isDirectory);
  for (const [k, folder] of folders.entries()) {
    const faces = await describeFolder(
      `${dir}/${folder.name}`,
      recognizer,
      context,
      () => {},
    );
    descriptors.push(...faces);
    strangers.push(...faces.map(() => k));
  }
  if (descriptors.length === 0) throw new Error("no face found there");
  return { descriptors, strangers };
}
