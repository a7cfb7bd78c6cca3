/**
 * The `resnet` recogniser: dlib's ResNet face descriptor (the model behind
 * face_recognition, 99.38% on LFW) as converted by face-api, behind the
 * {@linkcode Recognizer} seam. A face is described as dlib's
 * `compute_face_descriptor(img, shape)` describes it: 68 landmarks
 * (face-api's `FaceLandmark68Net`, fed the Haar box), the 150x150 face chip
 * of `get_face_chip_details(shape, 150, 0.25)` (lib/face/align.ts), and the
 * network's 128 numbers, kept as they come (not normalised). Faces are
 * compared by Euclidean distance; face_recognition calls the same person
 * below 0.6.
 *
 * Measured with tools/eval_recognizers.ts, trained and named as `train`
 * and `recognize` do (bundled strangers in the model, the unknown rule of
 * lib/face/naming.ts, the landmark face check, a second look with a border
 * in photos without a face): realfaces 96.8% of known probes right, none
 * wrong, all 9 stranger photos unknown (threshold learned: 0.563); the 3
 * misses are John_Salley's 000197 (a poor chip) and two crowd shots where
 * Haar misses or half-boxes Keanu Reeves. ORL 100% right, all strangers
 * unknown. Without the face check 95.7% right and 18 more boxes named;
 * without alignment 89.2% right and 2.2% wrong.
 *
 * Loading the networks is asynchronous ({@linkcode ResnetRecognizer.create},
 * {@linkcode createResnetRecognizer}, {@linkcode unpackResnetRecognizer});
 * everything else is synchronous. The networks are loaded once per thread
 * and shared by the thread's recognisers.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import {
  boxMapping,
  DESCRIPTOR_CHIP,
  extractChip,
  faceChipMapping,
  fitMeanShape,
  type Point,
} from "./align.ts";
import { detectLandmarks } from "./landmarks.ts";
import {
  addPacked,
  type DescribeOptions,
  type Match,
  type Nearest,
  type PackedRecognizer,
  type Recognizer,
  type RecognizerOptions,
} from "./recognizer.ts";
import { DESCRIPTOR_SIZE, type FaceNets, loadFaceNets } from "./_tfjs.ts";

/**
 * face_recognition's default tolerance: descriptors of the same person are
 * nearer than this (dlib's LFW calibration).
 */
export const DEFAULT_RESNET_THRESHOLD = 0.6;

/**
 * Landmarks farther than this from dlib's mean face shape (RMS, relative to
 * the face's size; see {@linkcode fitMeanShape}) mean the box holds no face.
 * Of the Haar boxes on the realfaces photos, the 148 on faces (frontal or
 * turned) were at 0.11 or below (median 0.03), and 21 of the 23 on
 * something else (an eye, a mouth, a pine cone) at 0.18 or above. On the
 * PASCAL photos with marked faces (tools/eval_recognizers.ts `--sets
 * detection`) no box on a face is turned down; training's detection puts
 * 2 boxes elsewhere, both turned down (0.26, 0.36).
 */
export const MAX_SHAPE_RESIDUAL = 0.15;

/** Options of {@linkcode ResnetRecognizer.create}. */
export interface ResnetOptions {
  /** Distances at or above this are `unknown` (default 0.6). */
  threshold?: number;
  /**
   * Align faces on their landmarks as dlib does (default true). False
   * resizes the Haar box itself to the chip: faster, much less accurate,
   * kept to measure what alignment brings.
   */
  align?: boolean;
}

/** What {@linkcode ResnetRecognizer.describeFace} found on the way. */
export interface FaceDescription {
  /** The 128-number descriptor. */
  descriptor: Float32Array;
  /** The 150x150 RGB chip the descriptor was computed from. */
  chip: Image;
  /** The 68 landmarks in frame coordinates (absent without alignment). */
  landmarks?: Point[];
  /**
   * How far the landmarks are from a face's shape ({@linkcode fitMeanShape});
   * absent without alignment.
   */
  shapeResidual?: number;
  /**
   * False when the landmarks say the box holds no face (shape residual above
   * {@linkcode MAX_SHAPE_RESIDUAL}); always true without alignment.
   */
  isFace: boolean;
}

/** The dlib/face-api ResNet face recogniser. */
export class ResnetRecognizer implements Recognizer {
  /** Always `resnet`. */
  readonly kind = "resnet" as const;
  /** 128. */
  readonly descriptorSize = DESCRIPTOR_SIZE;
  /** The network sees colour; grey frames are fed as 3 equal channels. */
  readonly channels = 3 as const;
  /** Distances at or above this are `unknown`. */
  threshold: number;
  /** Names by label. */
  readonly labelNames: Map<number, string> = new Map();
  /** Whether faces are aligned on their landmarks (see {@linkcode ResnetOptions}). */
  readonly align: boolean;
  #nets: FaceNets;
  #store = new Float32Array(0);
  #labels: number[] = [];

  private constructor(nets: FaceNets, options: ResnetOptions) {
    this.#nets = nets;
    this.threshold = checkThreshold(
      options.threshold ?? DEFAULT_RESNET_THRESHOLD,
    );
    this.align = options.align ?? true;
  }

  /** Loads the networks (once per thread) and makes an empty recogniser. */
  static async create(options: ResnetOptions = {}): Promise<ResnetRecognizer> {
    checkThreshold(options.threshold ?? DEFAULT_RESNET_THRESHOLD);
    return new ResnetRecognizer(await loadFaceNets(), options);
  }

  /** Number of training faces. */
  get size(): number {
    return this.#labels.length;
  }

  /** Label of each training face, in the order added. */
  get labels(): readonly number[] {
    return this.#labels;
  }

  /**
   * The parameters as {@linkcode PackedRecognizer.params} holds them
   * ({@linkcode createResnetRecognizer} reads them back).
   */
  get params(): Record<string, number> {
    return { align: this.align ? 1 : 0 };
  }

  /**
   * The descriptor of the face at `box` in a grey or RGB frame, or null when
   * the box holds no face (the landmarks' shape residual is above
   * {@linkcode MAX_SHAPE_RESIDUAL}; the descriptor network is then not
   * run). In `whole` mode the face is the whole frame (the box is ignored)
   * and is taken for a face, as the caller says.
   */
  describe(
    frame: Image,
    box: Box,
    options: DescribeOptions = {},
  ): Float32Array | null {
    if (options.whole) {
      const all = { x: 0, y: 0, w: frame.width, h: frame.height };
      return this.describeFace(frame, all).descriptor;
    }
    const found = this.#locate(frame, box);
    return found.isFace ? this.#nets.descriptor(found.chip.data) : null;
  }

  /**
   * {@linkcode ResnetRecognizer.describe} with the chip and landmarks, for
   * tools and tests that want to see them; the descriptor is computed even
   * when the landmarks say the box holds no face.
   */
  describeFace(frame: Image, box: Box): FaceDescription {
    const found = this.#locate(frame, box);
    return { ...found, descriptor: this.#nets.descriptor(found.chip.data) };
  }

  /** The face chip of `box`, and whether the box holds a face. */
  #locate(frame: Image, box: Box): Omit<FaceDescription, "descriptor"> {
    if (!(box.w > 0 && box.h > 0)) {
      throw new Error(`resnet: empty face box ${box.w}x${box.h}`);
    }
    if (!this.align) {
      const chip = extractChip(frame, boxMapping(box, DESCRIPTOR_CHIP.size));
      return { chip, isFace: true };
    }
    const landmarks = detectLandmarks(this.#nets, frame, box);
    const chip = extractChip(
      frame,
      faceChipMapping(landmarks, DESCRIPTOR_CHIP),
    );
    const shapeResidual = fitMeanShape(landmarks).residual;
    return {
      chip,
      landmarks,
      shapeResidual,
      isFace: shapeResidual <= MAX_SHAPE_RESIDUAL,
    };
  }

  /** Adds training faces by their descriptors. */
  add(descriptors: readonly Float32Array[], labels: readonly number[]): void {
    if (descriptors.length !== labels.length) {
      throw new Error(
        `resnet: ${descriptors.length} descriptors but ${labels.length} labels`,
      );
    }
    const n = DESCRIPTOR_SIZE;
    descriptors.forEach((d, i) => checkDescriptor(d, `descriptor ${i}`));
    labels.forEach((label, i) => {
      if (!Number.isInteger(label)) {
        throw new Error(`resnet: label ${i} must be an integer, got ${label}`);
      }
    });
    const count = this.#labels.length;
    const needed = (count + descriptors.length) * n;
    if (needed > this.#store.length) {
      const grown = new Float32Array(Math.max(needed, this.#store.length * 2));
      grown.set(this.#store.subarray(0, count * n));
      this.#store = grown;
    }
    descriptors.forEach((d, i) => this.#store.set(d, (count + i) * n));
    this.#labels.push(...labels);
  }

  /**
   * The nearest training face and the nearest face of anybody else (null
   * with one person); the first of equal distances wins.
   */
  nearestTwo(descriptor: Float32Array): Nearest {
    if (this.#labels.length === 0) {
      throw new Error("resnet: the recogniser has no training faces");
    }
    checkDescriptor(descriptor, "the query descriptor");
    const n = DESCRIPTOR_SIZE;
    const store = this.#store;
    const labels = this.#labels;
    const distances = new Float64Array(labels.length);
    let best: Match = { label: labels[0], distance: Infinity };
    for (let i = 0; i < labels.length; i++) {
      let sum = 0;
      for (let j = 0, k = i * n; j < n; j++, k++) {
        const d = store[k] - descriptor[j];
        sum += d * d;
      }
      distances[i] = Math.sqrt(sum);
      if (distances[i] < best.distance) {
        best = { label: labels[i], distance: distances[i] };
      }
    }
    let runnerUp: Match | null = null;
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] === best.label) continue;
      if (runnerUp === null || distances[i] < runnerUp.distance) {
        runnerUp = { label: labels[i], distance: distances[i] };
      }
    }
    return { best, runnerUp };
  }

  /** Euclidean distance. */
  distance(a: Float32Array, b: Float32Array): number {
    checkDescriptor(a, "descriptor a");
    checkDescriptor(b, "descriptor b");
    let sum = 0;
    for (let i = 0; i < DESCRIPTOR_SIZE; i++) {
      const d = a[i] - b[i];
      sum += d * d;
    }
    return Math.sqrt(sum);
  }

  /** This recogniser as one structured-clonable object. */
  pack(): PackedRecognizer {
    return {
      kind: "resnet",
      params: this.params,
      threshold: this.threshold,
      descriptors: this.#store.slice(0, this.#labels.length * DESCRIPTOR_SIZE),
      labels: [...this.#labels],
      names: [...this.labelNames],
    };
  }
}

/** The names of {@linkcode ResnetRecognizer.params}. */
const PARAM_NAMES = ["align"] as const;

/**
 * Makes an empty resnet recogniser from packed parameters
 * ({@linkcode ResnetRecognizer.params}; missing ones take the defaults),
 * loading the networks on first use: the `resnet` entry of
 * lib/face/recognizers.ts.
 *
 * @throws {Error} for a parameter resnet does not have, or a bad value.
 */
export function createResnetRecognizer(
  options: RecognizerOptions = {},
): Promise<ResnetRecognizer> {
  const params = options.params ?? {};
  for (const name of Object.keys(params)) {
    if (!(PARAM_NAMES as readonly string[]).includes(name)) {
      return Promise.reject(
        new Error(
          `resnet: unknown parameter "${name}" (resnet has ${
            PARAM_NAMES.join(", ")
          })`,
        ),
      );
    }
  }
  const align = params.align ?? 1;
  if (align !== 0 && align !== 1) {
    return Promise.reject(
      new Error(`resnet: parameter align must be 0 or 1, got ${align}`),
    );
  }
  return ResnetRecognizer.create({
    threshold: options.threshold,
    align: align === 1,
  });
}

/**
 * The recogniser a {@linkcode ResnetRecognizer.pack} made (in a worker
 * thread, or from a model file); loads the networks for this thread.
 *
 * @throws {Error} when `packed` is not a resnet recogniser or its
 * descriptors do not fit its labels.
 */
export async function unpackResnetRecognizer(
  packed: PackedRecognizer,
): Promise<ResnetRecognizer> {
  if (packed?.kind !== "resnet") {
    throw new Error(`resnet: cannot unpack a ${packed?.kind} recogniser`);
  }
  const n = DESCRIPTOR_SIZE;
  const count = packed.labels?.length ?? 0;
  if (
    !(packed.descriptors instanceof Float32Array) ||
    packed.descriptors.length !== count * n
  ) {
    throw new Error(
      `resnet: ${count} labels need ${
        count * n
      } descriptor numbers, got ${packed.descriptors?.length}`,
    );
  }
  const recognizer = await createResnetRecognizer({
    params: packed.params,
    threshold: packed.threshold,
  });
  addPacked(recognizer, packed);
  return recognizer;
}

function checkThreshold(threshold: number): number {
  if (typeof threshold !== "number" || Number.isNaN(threshold)) {
    throw new Error(`resnet: threshold must be a number, got ${threshold}`);
  }
  return threshold;
}

function checkDescriptor(d: Float32Array, what: string): void {
  if (!(d instanceof Float32Array) || d.length !== DESCRIPTOR_SIZE) {
    throw new Error(
      `resnet: ${what} must be a Float32Array of ${DESCRIPTOR_SIZE} numbers, got ${d?.length}`,
    );
  }
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new Error(`resnet: ${what} has a non-finite number at ${i}`);
    }
  }
}
