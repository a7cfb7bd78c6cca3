/**
 * Enrolment without a restart, both halves of it:
 *
 * - in a worker thread, {@linkcode WorkerEnrolment} answers an enrol
 *   request (lib/protocol/enrol.ts): it checks that this server lets
 *   clients enrol, describes each face crop with the worker's recogniser,
 *   asks the main thread to keep them, and replies only once the main
 *   thread says they are saved and live in every worker thread;
 * - in the main thread, {@linkcode Enrolments} keeps them: it picks the
 *   person's label (an existing name keeps its own), writes each photo to
 *   `<folder>/<name>/` and then the model file (each atomically: a
 *   temporary file renamed into place), adds the faces to its recogniser,
 *   and has every worker thread add them (`broadcast`). A restart trains on
 *   the photos or loads the model, so it knows the person too.
 *
 * Enrolments run one at a time, so two new names never get one label.
 *
 * @module
 */

import type { Recognizer } from "../face/recognizer.ts";
import {
  formatModel,
  parseModel,
  writeAtomically,
} from "../face/model_file.ts";
import { decodeImage } from "../images/image_io.ts";
import { errorReplyFor } from "../protocol/dispatch.ts";
import {
  decodeEnrolRequest,
  encodeEnrolReply,
  type EnrolReply,
  type EnrolRequest,
} from "../protocol/enrol.ts";
import { type Limits, ProtocolError } from "../protocol/errors.ts";
import type { HandledMessage } from "./frame_handler.ts";

/** What a worker thread hands the main thread to keep. */
export interface EnrolAsk {
  /** The person's name (checked by the decoder). */
  name: string;
  /** One descriptor per usable face. */
  descriptors: Float32Array[];
  /** The JPEG crop of each of those faces, as the client sent it. */
  jpegs: Uint8Array[];
}

/** The main thread's answer to an {@linkcode EnrolAsk}. */
export type EnrolAnswer =
  | {
    ok: true;
    /** The person's label. */
    label: number;
    /** Faces added. */
    added: number;
    /** The person's faces now. */
    faces: number;
    /** People known now. */
    people: number;
    /** True when the name was not known before. */
    newPerson: boolean;
  }
  | { ok: false; message: string };

/** Faces for every worker thread's recogniser to add. */
export interface AddFaces {
  /** The person's label. */
  label: number;
  /** The person's name. */
  name: string;
  /** The descriptors, all of that label. */
  descriptors: Float32Array[];
}

/** Options for {@linkcode WorkerEnrolment}. */
export interface WorkerEnrolmentOptions {
  /** Whether this server lets clients enrol at all. */
  allowed: boolean;
  /** Request limits (crop sizes). */
  limits?: Partial<Limits>;
  /** Hands the faces to the main thread and waits for its answer. */
  ask: (ask: EnrolAsk) => Promise<EnrolAnswer>;
  /** Called for each refused request with the name asked for, if readable. */
  onRefused?: (name: string | undefined) => void;
}

/** Why an enrolment is refused on a server that does not allow it. */
export const ENROL_OFF_MESSAGE =
  "enrolment is off on this server: start it with --allow-enrol, or with " +
  "--curve-secret and --allow-clients so that only listed clients get in";

/** The worker thread's side of enrolment; one per worker thread. */
export class WorkerEnrolment {
  #recognizer: Recognizer;
  #options: WorkerEnrolmentOptions;

  /** Describes faces with `recognizer` (the worker's own). */
  constructor(recognizer: Recognizer, options: WorkerEnrolmentOptions) {
    this.#recognizer = recognizer;
    this.#options = options;
  }

  /** Handles one enrol request; never throws (any failure is an error reply). */
  async handle(parts: Uint8Array[]): Promise<HandledMessage> {
    let request: EnrolRequest;
    if (!this.#options.allowed) {
      let name: string | undefined;
      try {
        name = decodeEnrolRequest(parts, this.#options.limits).name;
      } catch {
        // The refusal stands whatever the request holds.
      }
      this.#options.onRefused?.(name);
      return failure(new ProtocolError("ENROL_REFUSED", ENROL_OFF_MESSAGE));
    }
    try {
      request = decodeEnrolRequest(parts, this.#options.limits);
      const { descriptors, jpegs } = this.#describe(request);
      const answer = await this.#options.ask({
        name: request.name,
        descriptors,
        jpegs,
      });
      if (!answer.ok) throw new ProtocolError("INTERNAL", answer.message);
      const reply: EnrolReply = {
        kind: "enrolled",
        requestId: request.requestId,
        name: request.name,
        label: answer.label,
        added: answer.added,
        faces: answer.faces,
        people: answer.people,
        newPerson: answer.newPerson,
      };
      return { reply: encodeEnrolReply(reply), ok: true };
    } catch (error) {
      return failure(error);
    }
  }

  /** Each face's descriptor; faces the recogniser cannot describe are left out. */
  #describe(
    request: EnrolRequest,
  ): { descriptors: Float32Array[]; jpegs: Uint8Array[] } {
    const descriptors: Float32Array[] = [];
    const jpegs: Uint8Array[] = [];
    const reasons: string[] = [];
    request.faces.forEach(({ jpeg, box }, index) => {
      let crop;
      try {
        // The box is in the stored pixels: no EXIF turn.
        crop = decodeImage(jpeg, {
          name: `face ${index}`,
          grey: this.#recognizer.channels === 1,
          ignoreOrientation: true,
        });
      } catch (error) {
        throw new ProtocolError("CORRUPT_JPEG", (error as Error).message);
      }
      try {
        const descriptor = this.#recognizer.describe(crop, box);
        if (!descriptor) throw new Error("not a face (landmarks)");
        descriptors.push(descriptor);
        // Copied: the request's part is a view of a receive buffer.
        jpegs.push(jpeg.slice());
      } catch (error) {
        reasons.push(`face ${index}: ${(error as Error).message}`);
      }
    });
    if (descriptors.length === 0) {
      throw new ProtocolError(
        "BAD_ENROL",
        `no face could be described (${reasons.join("; ")})`,
      );
    }
    return { descriptors, jpegs };
  }
}

function failure(error: unknown): HandledMessage {
  const message = error instanceof ProtocolError
    ? `${error.code}: ${error.message}`
    : `INTERNAL: ${(error as Error)?.message ?? String(error)}`;
  return { reply: errorReplyFor(error), ok: false, error: message };
}

// ------------------------------------------------------------ main thread

/** Where enrolled photos go: beside the model file, or in the training folder. */
export function enrolmentFolder(
  source: { model?: string; train?: string },
): string {
  return source.model !== undefined
    ? `${source.model}.faces`
    : source.train ?? "train";
}

/** Options for {@linkcode Enrolments}. */
export interface EnrolmentsOptions {
  /** Photos go to `<folder>/<name>/`. */
  folder: string;
  /** The model file to rewrite with the new faces (a server started with `--model`). */
  model?: string;
  /** Has every worker thread add the faces; resolves once they have. */
  broadcast: (add: AddFaces) => Promise<void>;
  /** Enrolments and failures. Default stderr. */
  log?: (line: string) => void;
}

/**
 * The main thread's side of enrolment: saves photos and model, then adds
 * the faces to `recognizer` (the main thread's copy, the one a saved model
 * is written from) and to every worker thread's.
 */
export class Enrolments {
  #recognizer: Recognizer;
  #options: EnrolmentsOptions;
  #log: (line: string) => void;
  #queue: Promise<unknown> = Promise.resolve();

  /** Keeps enrolled faces in `recognizer` and as the options say. */
  constructor(recognizer: Recognizer, options: EnrolmentsOptions) {
    this.#recognizer = recognizer;
    this.#options = options;
    this.#log = options.log ?? ((line) => console.error(line));
  }

  /** Saves and adds the faces, one enrolment at a time; never rejects. */
  enrol(ask: EnrolAsk): Promise<EnrolAnswer> {
    const run = this.#queue.then(() => this.#enrol(ask)).catch(
      (error): EnrolAnswer => {
        this.#log(
          `enrolment of "${ask.name}" failed: ${(error as Error)?.message}`,
        );
        return { ok: false, message: "the server failed to enrol the faces" };
      },
    );
    this.#queue = run;
    return run;
  }

  async #enrol(ask: EnrolAsk): Promise<EnrolAnswer> {
    const recognizer = this.#recognizer;
    const { name, descriptors, jpegs } = ask;
    const existing = [...recognizer.labelNames].find(([, n]) => n === name);
    const label = existing?.[0] ?? nextLabel(recognizer);
    const folder = `${this.#options.folder}/${name}`;
    const written: string[] = [];
    try {
      await Deno.mkdir(folder, { recursive: true });
      const stamp = new Date().toISOString().replace(/[-:.]/g, "");
      for (let i = 0; i < jpegs.length; i++) {
        const path = await freshPath(
          folder,
          `enrol_${stamp}_${String(i + 1).padStart(2, "0")}`,
        );
        await writeFile(path, jpegs[i]);
        written.push(path);
      }
      const model = this.#options.model;
      if (model !== undefined) {
        // Appended to the file as it is, not written from the recogniser,
        // whose threshold may be a --threshold override.
        const packed = parseModel(await Deno.readTextFile(model), model);
        const n = recognizer.descriptorSize;
        const all = new Float32Array(
          packed.descriptors.length + descriptors.length * n,
        );
        all.set(packed.descriptors);
        descriptors.forEach((d, i) =>
          all.set(d, packed.descriptors.length + i * n)
        );
        packed.descriptors = all;
        packed.labels = [...packed.labels, ...descriptors.map(() => label)];
        if (!existing) packed.names = [...packed.names, [label, name]];
        await writeFile(
          model,
          new TextEncoder().encode(formatModel(packed)),
        );
      }
    } catch (error) {
      // Nothing half done: the photos of a failed enrolment go too.
      await Promise.all(written.map((p) => Deno.remove(p).catch(() => {})));
      this.#log(
        `enrolment of "${name}" failed, nothing added: ${
          (error as Error).message
        }`,
      );
      return {
        ok: false,
        message: "the server could not save the faces (its log says why)",
      };
    }
    recognizer.add(descriptors, descriptors.map(() => label));
    recognizer.labelNames.set(label, name);
    try {
      await this.#options.broadcast({ label, name, descriptors });
    } catch (error) {
      // Saved and in the main thread: a worker that missed them gets them
      // at the next restart.
      this.#log(
        `enrolment of "${name}": not every worker added the faces: ${
          (error as Error).message
        }`,
      );
    }
    const faces = recognizer.labels.filter((l) => l === label).length;
    const people = recognizer.labelNames.size;
    this.#log(
      `enrolled "${name}" (label ${label}${existing ? "" : ", new"}): ${
        plural(descriptors.length, "face")
      } added, ${faces} in all, saved in ${folder}/` +
        (this.#options.model ? ` and ${this.#options.model}` : ""),
    );
    return {
      ok: true,
      label,
      added: descriptors.length,
      faces,
      people,
      newPerson: !existing,
    };
  }
}

/** One more than any label in use (labels and names), 0 for none. */
function nextLabel(recognizer: Recognizer): number {
  let max = -1;
  for (const label of recognizer.labels) max = Math.max(max, label);
  for (const label of recognizer.labelNames.keys()) max = Math.max(max, label);
  return max + 1;
}

/** `<folder>/<base>.jpg`, or with `-2`, `-3`... when taken. */
async function freshPath(folder: string, base: string): Promise<string> {
  for (let n = 1;; n++) {
    const path = `${folder}/${base}${n === 1 ? "" : `-${n}`}.jpg`;
    try {
      await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return path;
      throw error;
    }
  }
}

/** {@linkcode writeAtomically}, with the file named in its error. */
async function writeFile(path: string, bytes: Uint8Array): Promise<void> {
  try {
    await writeAtomically(path, bytes);
  } catch (error) {
    throw new Error(`cannot write ${path}: ${(error as Error).message}`);
  }
}

/** `1 face`, `2 faces`. */
function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}
