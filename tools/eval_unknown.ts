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
 *   compreface and facenet-pytorch). Every face in a probe is named as the
 *   `recognize` command names photos (`describeFaces` with `photo`:
 *   training's detection, a second look with a border when there is no
 *   face, boxes resnet's landmarks call no face left out); a known probe is
 *   right when its person's name is on one of its faces and no face has a
 *   wrong name, wrong when any face has a wrong name (as
 *   tools/eval_recognizers.ts counts).
 *
 * - video (`--video samples/sample.mp4`): the repository's train/ (ORL
 *   s1-s4, images 1-5) trained, every face the server's detection finds in
 *   the frames of a video made by tools/make_sample.ts probed as the server
 *   sees it; the truth's `unknown` face (s5) is the stranger. Live frames:
 *   no second look. tests/fixtures/clip/clip.mp4 is a 60-frame cut.
 *
 * Each data set is also cut into 2-person models (consecutive pairs of its
 * people) and 1-person models (each person alone); probes of the people left
 * out are strangers to those models. Rows add up over the cuts.
 *
 * `--sweep` adds, per cut, the new rule with other constants (every
 * `--ambiguities` x every `--stranger-ratios`), all lights together: the
 * trade-off between known faces named and wrong names. `--verbose` lists every wrong name the new rule
 * gives.
 *
 * ```sh
 * deno run -A tools/eval_unknown.ts [--sets orl,video,realfaces]
 *   [--recognizer lbph] [--video samples/sample.mp4]
 *   [--light none,side,dark,bright,top] [--orl ../shared/data/orl]
 *   [--realfaces ../shared/data/realfaces] [--scale 2] [--verbose]
 *   [--sweep [--ambiguities 0.93,0.9] [--stranger-ratios 1,0.95]]
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
  describeFaces,
  isNamed,
  type RuleDistances,
  STRANGER_LABEL,
  UNKNOWN,
  UNKNOWN_RULES,
} from "../lib/face/naming.ts";
import type { Recognizer, RecognizerKind } from "../lib/face/recognizer.ts";
import { createRecognizer } from "../lib/face/recognizers.ts";
import { calibrateWithStrangers } from "../lib/face/calibration.ts";
import {
  summaryLine,
  trainFromFolder,
  TRAINING_DETECT_OPTIONS,
} from "../lib/face/training.ts";
import { type Image, toGrey } from "../lib/images/image.ts";
import { findFfmpeg } from "../lib/video/find_ffmpeg.ts";
import { readImage } from "../lib/images/image_io.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    sets: { type: "string", default: "orl,video,realfaces" },
    recognizer: { type: "string", default: "lbph" },
    light: { type: "string", default: "none,side,dark,bright,top" },
    orl: { type: "string", default: "../shared/data/orl" },
    realfaces: { type: "string", default: "../shared/data/realfaces" },
    video: { type: "string", default: "samples/sample.mp4" },
    scale: { type: "string", default: "2" },
    sweep: { type: "boolean", default: false },
    ambiguities: { type: "string", default: "0.93,0.9,0.87,0.85,0.8" },
    "stranger-ratios": { type: "string", default: "1,0.97,0.95,0.9" },
    verbose: { type: "boolean", default: false },
  },
});

/** One probe photo: whose it is (null: a stranger) and its faces. */
interface Probe {
  person: string | null;
  faces: Float32Array[];
  /** Where it came from, for --verbose. */
  path: string;
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
        const face = box && model.describe(frame, box);
        if (!face) missed++;
        list.push({
          person: p <= 20 ? `s${p}` : null,
          faces: face ? [face] : [],
          path: `${light} s${p}/${i}.pgm`,
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

/**
 * A video with its truth (`<name>_truth.json` beside it, as
 * tools/make_sample.ts writes it): the repository's train/ (s1-s4) trained,
 * every face the server's detection finds on a truth face is a probe, of a
 * stranger when the truth says `unknown` (s5).
 */
async function videoSet(
  video: string,
  kind: RecognizerKind,
  detector: FaceDetector,
): Promise<DataSet> {
  const model = await train("train", kind, detector);
  const truth: {
    faces: { name: string; x: number; y: number; w: number; h: number }[];
  }[] = JSON.parse(
    await Deno.readTextFile(video.replace(/\.mp4$/, "_truth.json")),
  );
  const [width, height] = [640, 480];
  const decoded = await new Deno.Command(await findFfmpeg(), {
    args: [
      ...["-hide_banner", "-loglevel", "error", "-i", video],
      ...["-vf", `scale=${width}:${height}`, "-f", "rawvideo"],
      ...["-pix_fmt", "rgb24", "pipe:1"],
    ],
    stdout: "piped",
  }).output();
  if (!decoded.success) throw new Error(`ffmpeg could not read ${video}`);
  const size = width * height * 3;
  const list: Probe[] = [];
  for (let f = 0; (f + 1) * size <= decoded.stdout.length; f++) {
    const colour: Image = {
      width,
      height,
      channels: 3,
      data: decoded.stdout.subarray(f * size, (f + 1) * size),
    };
    const grey = toGrey(colour);
    const frame = model.channels === 1 ? grey : colour;
    for (const box of detector.detect(grey, SERVER_DETECT_OPTIONS)) {
      const cx = box.x + box.w / 2, cy = box.y + box.h / 2;
      const face = truth[f]?.faces.find((t) =>
        cx >= t.x && cx < t.x + t.w && cy >= t.y && cy < t.y + t.h
      );
      if (!face) continue; // not on a face: the detector's mistake
      const descriptor = model.describe(frame, box);
      list.push({
        person: face.name === UNKNOWN ? null : face.name,
        faces: descriptor ? [descriptor] : [],
        path: `frame ${f}`,
      });
    }
  }
  return { name: video, model, probes: new Map([["frames", list]]) };
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
        // As the recognize command names photos.
        const faces = describeFaces(colour, {
          recognizer: model,
          detector,
          detect: TRAINING_DETECT_OPTIONS,
          photo: true,
        });
        list.push({
          person: folder === "_stranger" ? null : folder,
          faces: faces.map((f) => f.descriptor),
          path: `${folder}/${file}`,
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

/** The constants a row of the report names faces with. */
interface Row {
  name: string;
  /** The model it names with. */
  rule: RuleName;
  /** Overrides of the recogniser's {@linkcode UNKNOWN_RULES} (`new` only). */
  ambiguity?: number;
  strangerRatio?: number;
}

/** A probe face's distances in one model, and its nearest person. */
interface Distances extends RuleDistances {
  label: number;
}

/** The distances the unknown rule looks at, for each face of a probe. */
function distancesOf(probe: Probe, model: Recognizer): Distances[] {
  const { descriptors, labels } = model.pack();
  const n = model.descriptorSize;
  return probe.faces.map((face) => {
    const nearest = new Map<number, number>();
    labels.forEach((label, i) => {
      const d = model.distance(face, descriptors.subarray(i * n, (i + 1) * n));
      if (d < (nearest.get(label) ?? Infinity)) nearest.set(label, d);
    });
    let person = Infinity, label = -1, other = Infinity;
    for (const [l, d] of nearest) {
      if (l !== STRANGER_LABEL && d < person) [person, label] = [d, l];
    }
    for (const [l, d] of nearest) {
      if (l !== STRANGER_LABEL && l !== label) other = Math.min(other, d);
    }
    const stranger = nearest.get(STRANGER_LABEL) ?? Infinity;
    return { person, label, other, stranger };
  });
}

/** The names a probe's faces get under a row, and whether they are right. */
function outcome(
  probe: Probe,
  faces: Distances[],
  model: Recognizer,
  row: Row,
): { outcome: Outcome; names: string[] } {
  const rule = UNKNOWN_RULES[model.kind];
  const constants = {
    threshold: model.threshold,
    // The old rules used LBPH's ratio for every recogniser.
    ambiguity: row.rule === "new"
      ? row.ambiguity ?? rule.ambiguity
      : DEFAULT_AMBIGUITY,
    strangerRatio: row.strangerRatio ?? rule.strangerRatio,
  };
  const names = faces
    .filter((face) => isNamed(face, constants))
    .map((face) => model.labelNames.get(face.label)!);
  const own = probe.person !== null &&
    [...model.labelNames.values()].includes(probe.person);
  if (!own) return { outcome: names.length ? "named" : "rejected", names };
  if (names.some((n) => n !== probe.person)) return { outcome: "wrong", names };
  return {
    outcome: names.includes(probe.person!) ? "right" : "unknown",
    names,
  };
}

/** The rows: the three rules, and with --sweep the new rule's constants. */
function rows(kind: RecognizerKind): Row[] {
  const main: Row[] = RULES.map((rule) => ({ name: rule, rule }));
  if (!values.sweep) return main;
  const rule = UNKNOWN_RULES[kind];
  const list = (text: string) => text.split(",").map(Number);
  const ambiguities = [
    ...new Set([rule.ambiguity, ...list(values.ambiguities)]),
  ];
  const ratios = [
    ...new Set([rule.strangerRatio, ...list(values["stranger-ratios"])]),
  ];
  return [
    ...main,
    ...ambiguities.flatMap((ambiguity) =>
      ratios.map((strangerRatio): Row => ({
        name: `new a${ambiguity.toFixed(2)} s${strangerRatio.toFixed(2)}`,
        rule: "new",
        ambiguity,
        strangerRatio,
      }))
    ),
  ];
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
  const table = rows(set.model.kind);
  for (const [cut, groups] of cuts) {
    const tallies = new Map<string, Tally>();
    const mistakes: string[] = [];
    for (const group of groups) {
      const models = new Map<RuleName, Recognizer>();
      for (const rule of RULES) {
        models.set(rule, await modelFor(set.model, new Set(group), rule));
      }
      for (const [light, probes] of set.probes) {
        for (const probe of probes) {
          const distances = new Map(
            RULES.map((rule) => [rule, distancesOf(probe, models.get(rule)!)]),
          );
          for (const row of table) {
            const model = models.get(row.rule)!;
            for (const key of [`${light}\t${row.name}`, `all\t${row.name}`]) {
              if (!tallies.has(key)) tallies.set(key, new Tally());
            }
            const result = outcome(
              probe,
              distances.get(row.rule)!,
              model,
              row,
            );
            tallies.get(`${light}\t${row.name}`)!.add(result.outcome);
            tallies.get(`all\t${row.name}`)!.add(result.outcome);
            if (
              values.verbose && row.name === "new" && result.outcome === "wrong"
            ) {
              const ratios = distances.get(row.rule)!.map((d) =>
                `${(d.person / d.other).toFixed(3)}/${
                  (d.person / d.stranger).toFixed(3)
                }`
              );
              mistakes.push(
                `    wrong: ${probe.path} named ${
                  result.names.join(", ")
                } by the model of ${
                  group.map((l) => set.model.labelNames.get(l)).join(", ")
                } (faces' ratios to anybody else/to strangers: ${
                  ratios.join(" ")
                })`,
              );
            }
          }
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
    mistakes.forEach((line) => console.log(line));
    if (table.length > RULES.length) {
      const where = set.probes.size > 1 ? "all lights together" : "";
      console.log(
        `  the new rule by ratio (a: ambiguity, s: stranger ratio)${
          where ? `, ${where}` : ""
        }:`,
      );
      for (const row of table.slice(RULES.length)) {
        console.log(
          `    ${row.name.padEnd(16)} ${tallies.get(`all\t${row.name}`)}`,
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
    if (sets.includes("video")) {
      console.log(`\n${values.video}, ${kind}:`);
      await report(await videoSet(values.video, kind, detector));
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
