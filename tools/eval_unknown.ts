/**
 * Measures the unknown rule (lib/face/naming.ts) where the light and the day
 * change: how many known people are named right, named wrong or left
 * `unknown`, and how many strangers are left `unknown`, for three rules:
 *
 * - `current`: the rule before the bundled strangers: threshold calibrated
 *   leave-one-out on the training set x 1.15 (when it cannot be, the
 *   recogniser's default: LBPH none, resnet 0.6), plus the ratio rule (best
 *   at most 0.93 x anybody else's);
 * - `ratio`: the ratio rule alone, no threshold;
 * - `new`: what training now does: the bundled strangers in the model, no
 *   stranger nearer than the person, the ratio rule, and a loose threshold
 *   learned from the strangers.
 *
 * Data sets (read at run time, never copied into the repository):
 *
 * - ORL (AT&T Laboratories Cambridge / Olivetti Research Laboratory): s1-s20
 *   trained on images 1-5, probed on images 6-10 placed (x --scale) on a
 *   640x480 frame and found by the server's detection, under each --light:
 *   `none`, `side` (lit from one side), `dark` (dim, contrast crushed),
 *   `bright` (washed out), `top` (lit from above). Strangers: images 6-10 of
 *   s21-s30 (s31-s40 are the bundled strangers, data/strangers/).
 * - realfaces: `split.sh` of ../shared/data/realfaces into a temporary
 *   folder (18 people, 2 photos each trained, the rest probed; strangers from
 *   compreface and facenet-pytorch). Every face Haar finds in a probe is
 *   named (training's detection); a known probe is right when its person's
 *   name is on one of its faces and no face has a wrong name, wrong when any
 *   face has a wrong name (as tools/eval_recognizers.ts counts).
 *
 * Each data set is also cut into 2-person models (consecutive pairs of its
 * people) and 1-person models (each person alone); probes of the people left
 * out are strangers to those models. Rows add up over the cuts.
 *
 * ```sh
 * deno run -A tools/eval_unknown.ts [--sets orl,realfaces] [--recognizer lbph]
 *   [--light none,side,dark,bright,top] [--orl ../shared/data/orl]
 *   [--realfaces ../shared/data/realfaces] [--scale 2]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { calibrateThreshold } from "../lib/face/calibration.ts";
import {
  FaceDetector,
  largestFace,
  SERVER_DETECT_OPTIONS,
} from "../lib/face/detector.ts";
import { resizeGrey } from "../lib/face/face_prep.ts";
import {
  DEFAULT_AMBIGUITY,
  nameDescriptor,
  STRANGER_LABEL,
} from "../lib/face/naming.ts";
import type { Recognizer, RecognizerKind } from "../lib/face/recognizer.ts";
import { createRecognizer } from "../lib/face/recognizers.ts";
import { calibrateWithStrangers } from "../lib/face/calibration.ts";
import {
  findTrainingFace,
  summaryLine,
  trainFromFolder,
  TRAINING_DETECT_OPTIONS,
} from "../lib/face/training.ts";
import { type Image, toGrey } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sets: { type: "string", default: "orl,realfaces" },
    recognizer: { type: "string", default: "lbph" },
    light: { type: "string", default: "none,side,dark,bright,top" },
    orl: { type: "string", default: "../shared/data/orl" },
    realfaces: { type: "string", default: "../shared/data/realfaces" },
    scale: { type: "string", default: "2" },
  },
});

/** One probe photo: whose it is (null: a stranger) and its faces. */
interface Probe {
  person: string | null;
  faces: Float32Array[];
}

/** A trained data set and its probes, by condition (light). */
interface DataSet {
  name: string;
  /** The model as training made it: people, then strangers (label -1). */
  model: Recognizer;
  probes: Map<string, Probe[]>;
}

type Outcome = "right" | "wrong" | "unknown" | "rejected" | "named";

/** Counts of one rule over many probes. */
class Tally {
  right = 0;
  wrong = 0;
  unknown = 0;
  rejected = 0;
  named = 0;
  add(outcome: Outcome): void {
    this[outcome]++;
  }
  get known(): number {
    return this.right + this.wrong + this.unknown;
  }
  get strangers(): number {
    return this.rejected + this.named;
  }
  toString(): string {
    const pct = (a: number, b: number) =>
      `${(100 * a / Math.max(b, 1)).toFixed(1)}%`.padStart(6);
    return `known ${pct(this.right, this.known)} right ${
      String(this.wrong).padStart(2)
    } wrong ${pct(this.unknown, this.known)} unknown | strangers ${
      pct(this.rejected, this.strangers)
    } unknown  (${this.known} known, ${this.strangers} strangers)`;
  }
}

const RULES = ["current", "ratio", "new"] as const;
type RuleName = typeof RULES[number];

/** A photo placed, scaled, in the middle of a grey 640x480 frame. */
function onFrame(face: Image, scale: number): Image {
  const scaled = resizeGrey(
    face,
    Math.round(face.width * scale),
    Math.round(face.height * scale),
  );
  const frame: Image = {
    width: 640,
    height: 480,
    channels: 1,
    data: new Uint8Array(640 * 480).fill(128),
  };
  const x0 = Math.round((640 - scaled.width) / 2);
  const y0 = Math.round((480 - scaled.height) / 2);
  for (let y = 0; y < scaled.height; y++) {
    frame.data.set(
      scaled.data.subarray(y * scaled.width, (y + 1) * scaled.width),
      (y0 + y) * 640 + x0,
    );
  }
  return frame;
}

/**
 * The photo under another light: `side` fades from 35% on the left to 130%
 * on the right, `top` from 125% at the top to 45% at the bottom, `dark`
 * crushes the shadows (gamma 1.8) at 75%, `bright` lifts them (gamma 0.5).
 */
function relight(face: Image, light: string): Image {
  if (light === "none") return face;
  const data = new Uint8Array(face.data.length);
  for (let y = 0; y < face.height; y++) {
    for (let x = 0; x < face.width; x++) {
      const i = y * face.width + x;
      let v = face.data[i] / 255;
      if (light === "side") v *= 0.35 + 0.95 * x / face.width;
      else if (light === "top") v *= 1.25 - 0.8 * y / face.height;
      else if (light === "dark") v = 0.75 * v ** 1.8;
      else if (light === "bright") v = v ** 0.5;
      else throw new Error(`unknown --light ${light}`);
      data[i] = Math.max(0, Math.min(255, Math.round(v * 255)));
    }
  }
  return { ...face, data };
}

async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

async function train(
  dir: string,
  kind: RecognizerKind,
  detector: FaceDetector,
): Promise<Recognizer> {
  const result = await trainFromFolder(dir, {
    detector,
    recognizer: kind,
    onWarning: (line) => console.error(`  ${line}`),
  });
  console.log(`  ${summaryLine(result)}`);
  return result.recognizer;
}

async function orlSet(
  orl: string,
  kind: RecognizerKind,
  lights: string[],
  detector: FaceDetector,
): Promise<DataSet> {
  const scale = Number(values.scale);
  const dir = await Deno.makeTempDir({ prefix: "facezmq_eval_orl_" });
  let model: Recognizer;
  try {
    for (let p = 1; p <= 20; p++) {
      await Deno.mkdir(`${dir}/s${p}`);
      for (let i = 1; i <= 5; i++) {
        await Deno.symlink(
          await Deno.realPath(`${orl}/s${p}/${i}.pgm`),
          `${dir}/s${p}/${i}.pgm`,
        );
      }
    }
    model = await train(dir, kind, detector);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const probes = new Map<string, Probe[]>();
  let missed = 0;
  for (const light of lights) {
    const list: Probe[] = [];
    for (let p = 1; p <= 30; p++) {
      for (let i = 6; i <= 10; i++) {
        const grey = await readImage(`${orl}/s${p}/${i}.pgm`, { grey: true });
        const frame = onFrame(relight(grey, light), scale);
        const box = largestFace(detector.detect(frame, SERVER_DETECT_OPTIONS));
        if (!box) missed++;
        list.push({
          person: p <= 20 ? `s${p}` : null,
          faces: box ? [model.describe(frame, box)] : [],
        });
      }
    }
    probes.set(light, list);
  }
  if (missed) {
    console.log(`  ${missed} probes without a detected face (count unknown)`);
  }
  return { name: "ORL", model, probes };
}

async function realfacesSet(
  src: string,
  kind: RecognizerKind,
  detector: FaceDetector,
): Promise<DataSet> {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_eval_realfaces_" });
  try {
    const split = await new Deno.Command("bash", {
      args: [`${src}/split.sh`, src, dir],
    }).output();
    if (!split.success) throw new Error(`${src}/split.sh failed`);
    const model = await train(`${dir}/train`, kind, detector);
    const list: Probe[] = [];
    for (const folder of await sortedNames(`${dir}/probe`)) {
      for (const file of await sortedNames(`${dir}/probe/${folder}`)) {
        const path = `${dir}/probe/${folder}/${file}`;
        let colour: Image;
        try {
          colour = await readImage(path);
        } catch (error) {
          console.error(`  skipped ${(error as Error).message}`);
          continue;
        }
        const grey = toGrey(colour);
        let boxes = detector.detect(grey, TRAINING_DETECT_OPTIONS);
        if (boxes.length === 0) {
          const box = findTrainingFace(grey, detector);
          boxes = box ? [box] : [];
        }
        const frame = model.channels === 1 ? grey : colour;
        list.push({
          person: folder === "_stranger" ? null : folder,
          faces: boxes.map((box) => model.describe(frame, box)),
        });
      }
    }
    return { name: "realfaces", model, probes: new Map([["photos", list]]) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The model of `people` only, under one rule, from the full model. */
async function modelFor(
  full: Recognizer,
  people: Set<number>,
  rule: RuleName,
): Promise<Recognizer> {
  const packed = full.pack();
  const n = full.descriptorSize;
  const model = await createRecognizer(full.kind, { params: packed.params });
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  packed.labels.forEach((label, i) => {
    const stranger = label === STRANGER_LABEL;
    if (stranger ? rule === "new" : people.has(label)) {
      rows.push(packed.descriptors.subarray(i * n, (i + 1) * n));
      labels.push(label);
    }
  });
  model.add(rows, labels);
  for (const label of people) {
    model.labelNames.set(label, full.labelNames.get(label)!);
  }
  if (rule === "new") {
    model.threshold = calibrateWithStrangers(model).threshold;
  } else if (rule === "ratio") {
    model.threshold = Number.MAX_VALUE;
  } else {
    try {
      model.threshold = calibrateThreshold(model).threshold;
    } catch {
      // One person, or one photo each: training kept the recogniser's
      // default (LBPH none, resnet 0.6).
    }
  }
  return model;
}

function outcome(probe: Probe, model: Recognizer, rule: RuleName): Outcome {
  // The old rules used LBPH's ratio for every recogniser.
  const ambiguity = rule === "new" ? undefined : DEFAULT_AMBIGUITY;
  const names = probe.faces
    .map((d) => nameDescriptor(d, { recognizer: model, ambiguity }))
    .filter((n) => n.label >= 0)
    .map((n) => model.labelNames.get(n.label)!);
  const own = probe.person !== null &&
    [...model.labelNames.values()].includes(probe.person);
  if (!own) return names.length ? "named" : "rejected";
  if (names.some((n) => n !== probe.person)) return "wrong";
  return names.includes(probe.person!) ? "right" : "unknown";
}

async function report(set: DataSet): Promise<void> {
  const labels = [...set.model.labelNames.keys()].sort((a, b) => a - b);
  const cuts: [string, number[][]][] = [
    [`${labels.length} people`, [labels]],
    [
      "2 people",
      labels.filter((_, i) => i % 2 === 0 && i + 1 < labels.length)
        .map((l) => [l, labels[labels.indexOf(l) + 1]]),
    ],
    ["1 person", labels.map((l) => [l])],
  ];
  for (const [cut, groups] of cuts) {
    const tallies = new Map<string, Tally>();
    for (const group of groups) {
      for (const rule of RULES) {
        const model = await modelFor(set.model, new Set(group), rule);
        for (const [light, probes] of set.probes) {
          const key = `${light}\t${rule}`;
          const tally = tallies.get(key) ?? new Tally();
          for (const probe of probes) tally.add(outcome(probe, model, rule));
          tallies.set(key, tally);
        }
      }
    }
    console.log(
      `\n${set.name}, ${cut}${
        groups.length > 1 ? ` (${groups.length} models)` : ""
      } (known probes: named right, named wrong, unknown; strangers left unknown):`,
    );
    for (const light of set.probes.keys()) {
      for (const rule of RULES) {
        console.log(
          `  ${light.padEnd(7)} ${rule.padEnd(8)} ${
            tallies.get(`${light}\t${rule}`)
          }`,
        );
      }
    }
  }
}

async function main(): Promise<void> {
  const kind = values.recognizer as RecognizerKind;
  const sets = values.sets.split(",").map((s) => s.trim());
  const detector = await FaceDetector.create();
  try {
    if (sets.includes("orl")) {
      console.log(`ORL, ${kind}:`);
      const lights = values.light.split(",").map((s) => s.trim());
      await report(await orlSet(values.orl, kind, lights, detector));
    }
    if (sets.includes("realfaces")) {
      console.log(`\nrealfaces, ${kind}:`);
      await report(await realfacesSet(values.realfaces, kind, detector));
    }
  } finally {
    detector.close();
  }
}

if (import.meta.main) await main();
