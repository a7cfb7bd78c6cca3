/**
 * The recognisers by kind: {@linkcode createRecognizer} makes an empty one,
 * {@linkcode unpackRecognizer} rebuilds one from its
 * {@linkcode PackedRecognizer} (a worker thread's copy, a model file's
 * contents). A kind is one entry of `FACTORIES`; a kind whose module is
 * heavy (a network) is imported only when asked for.
 *
 * @module
 */

import { createLbphRecognizer } from "./lbph.ts";
import {
  addPacked,
  type PackedRecognizer,
  type Recognizer,
  RECOGNIZER_KINDS,
  type RecognizerFactory,
  type RecognizerKind,
  type RecognizerOptions,
} from "./recognizer.ts";

/** How each kind is made: its module's {@linkcode RecognizerFactory}. */
const FACTORIES: Readonly<
  Record<RecognizerKind, () => Promise<RecognizerFactory>>
> = {
  lbph: () => Promise.resolve(createLbphRecognizer),
  // Loads the networks' packages: only when a resnet model is asked for.
  resnet: () =>
    lazy(
      "resnet",
      async () => (await import("./resnet.ts")).createResnetRecognizer,
    ),
};

/**
 * Imports a kind's module on first use. A module that is missing, or whose
 * own imports fail (a package not installed), makes the kind unavailable
 * with the reason, instead of failing every program that imports this one.
 */
async function lazy(
  kind: RecognizerKind,
  load: () => Promise<RecognizerFactory | undefined>,
): Promise<RecognizerFactory> {
  let factory: RecognizerFactory | undefined;
  try {
    factory = await load();
  } catch (error) {
    throw new Error(
      `${kind} recogniser not available: ${(error as Error)?.message ?? error}`,
    );
  }
  if (typeof factory !== "function") {
    throw new Error(
      `${kind} recogniser not available: lib/face/${kind}.ts exports no create${
        kind[0].toUpperCase() + kind.slice(1)
      }Recognizer`,
    );
  }
  return factory;
}

/** Whether `value` names a recogniser facezmq has. */
export function isRecognizerKind(value: unknown): value is RecognizerKind {
  return (RECOGNIZER_KINDS as readonly unknown[]).includes(value);
}

/**
 * An empty recogniser of `kind`, with `options.params` (as packed; missing
 * ones take the kind's defaults) and `options.threshold`.
 *
 * @throws {Error} for an unknown kind, a kind whose module cannot be
 * loaded ("resnet recogniser not available: ..."), or bad parameters.
 */
export async function createRecognizer(
  kind: RecognizerKind,
  options: RecognizerOptions = {},
): Promise<Recognizer> {
  if (!isRecognizerKind(kind)) {
    throw new Error(
      `unknown recogniser "${kind}" (facezmq has ${
        RECOGNIZER_KINDS.join(", ")
      })`,
    );
  }
  const factory = await FACTORIES[kind]();
  return await factory(options);
}

/**
 * Rebuilds a recogniser from {@linkcode Recognizer.pack}'s output (after a
 * structured clone, or read from a model file).
 *
 * @throws {Error} starting "packed model: " when the object does not make
 * a recogniser (descriptors that do not fit the labels and parameters...).
 */
export async function unpackRecognizer(
  packed: PackedRecognizer,
): Promise<Recognizer> {
  try {
    checkShape(packed);
    const recognizer = await createRecognizer(packed.kind, {
      params: packed.params,
      threshold: packed.threshold,
    });
    const n = recognizer.descriptorSize;
    const count = packed.labels.length;
    if (packed.descriptors.length !== count * n) {
      throw new Error(
        `${packed.descriptors.length} descriptor values for ${count} faces ` +
          `of ${n} values each (${packed.kind} with these parameters)`,
      );
    }
    addPacked(recognizer, packed);
    return recognizer;
  } catch (error) {
    throw new Error(`packed model: ${(error as Error)?.message ?? error}`);
  }
}

/** Throws when `packed` is not even shaped like a packed recogniser. */
function checkShape(packed: PackedRecognizer): void {
  if (packed === null || typeof packed !== "object") {
    throw new Error("not an object");
  }
  if (!isRecognizerKind(packed.kind)) {
    throw new Error(`unknown recogniser "${packed.kind}"`);
  }
  if (packed.params === null || typeof packed.params !== "object") {
    throw new Error("params is not an object");
  }
  if (typeof packed.threshold !== "number") {
    throw new Error("threshold is not a number");
  }
  if (!(packed.descriptors instanceof Float32Array)) {
    throw new Error("descriptors is not a Float32Array");
  }
  if (!Array.isArray(packed.labels) || !Array.isArray(packed.names)) {
    throw new Error("labels or names is not an array");
  }
}
