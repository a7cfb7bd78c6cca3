/**
 * Compares the recognisers on real photos: how many known people are named
 * right, how many get a wrong name, and how many strangers are left
 * `unknown`; plus the distance distributions a threshold is chosen from.
 *
 * Data sets (read at run time, never copied into the repository):
 *
 * - realfaces: `split.sh` of the realfaces folder (18 people, 2 photos each
 *   trained, the rest probed; strangers from compreface and facenet-pytorch);
 * - ORL: images 1-5 of s1-s20 trained, 6-10 probed; 6-10 of s21-s40 are
 *   the strangers.
 *
 * Every training photo gives its largest Haar face (`findTrainingFace`,
 * training's detection parameters); every face found in a probe is named.
 * A known probe is right when its person's name is on one of its faces and
 * no face carries a wrong name, wrong when any face carries a wrong name,
 * and unknown otherwise (no face, or only `unknown`). A stranger photo is
 * rejected when no face carries a name. A face is named when its nearest
 * training face is nearer than the threshold and clearly nearer than
 * anybody else's (best <= ambiguity x runner-up; `--ambiguity 1` turns
 * that off), as lib/face/naming.ts does.
 *
 * ```sh
 * deno run -A tools/eval_recognizers.ts [--realfaces ../shared/data/realfaces]
 *   [--orl ../shared/data/orl] [--recognizers resnet,lbph] [--no-align]
 *   [--threshold 0.6] [--ambiguity 0.93] [--sets realfaces,orl] [--verbose]
 * ```
 *
 * `--threshold` is resnet's (LBPH's is calibrated); every report also
 * tabulates other thresholds and ambiguities from the same descriptors.
 * `--verbose` lists every probe that is not right. About 2 minutes on one
 * core; the realfaces split goes to a temporary folder that is removed.
 *
 * `resnet` is evaluated with alignment (landmarks + dlib face chip) and
 * without (the Haar box resized to the chip); `--no-align` keeps only the
 * latter. For the aligned resnet the report adds what its landmark face
 * check would give (`ResnetRecognizer.describeFace(...).isFace`: boxes that
 * are not faces are never named; when Haar found nothing else, the photo
 * is searched again with a border, as training does). LBPH uses the default
 * face preparation and the threshold calibrated on its training faces, as
 * `trainFromFolder` does.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { calibrateThreshold } from "../lib/face/calibration.ts";
import { FaceDetector, largestFace } from "../lib/face/detector.ts";
import { DEFAULT_AMBIGUITY } from "../lib/face/naming.ts";
import type { Nearest, Recognizer } from "../lib/face/recognizer.ts";
import { createRecognizer } from "../lib/face/recognizers.ts";
import {
  DEFAULT_RESNET_THRESHOLD,
  ResnetRecognizer,
} from "../lib/face/resnet.ts";
import {
  findTrainingFace,
  TRAINING_DETECT_OPTIONS,
} from "../lib/face/training.ts";
import { type Box, type Image, toGrey } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import { percentile } from "../lib/measure/stats.ts";

/** One photo of a data set; `person` null for a stranger. */
interface Sample {
  path: string;
  person: string | null;
}

/** A data set split into training photos and probes. */
interface DataSet {
  name: string;
  train: Sample[];
  probes: Sample[];
}

/** A recogniser under test, with the naming rule it is judged by. */
interface Method {
  name: string;
  recognizer: Recognizer;
  ambiguity: number;
  /** Calibrate the threshold on the training faces (LBPH's way). */
  calibrate: boolean;
  /** Thresholds to tabulate. */
  sweep: () => number[];
  /** The training descriptors, in training order. */
  trained: Float32Array[];
  /** Milliseconds per describe, after the first. */
  times: number[];
  /** What calibration on the training faces gives (NaN if impossible). */
  calibrated: number;
}

/** What one probe face gave. */
interface FaceResult {
  nearest: Nearest;
  /** False when resnet's landmark check says the box holds no face. */
  isFace: boolean;
  /** Nearest training face of the probe's own person (Infinity if none). */
  same: number;
  /** Nearest training face of anybody else. */
  other: number;
}

/** One probe photo's faces. */
interface ProbeResult {
  path: string;
  person: string | null;
  faces: FaceResult[];
  /**
   * When resnet's landmark check rejects every Haar box: the largest face
   * found with a border around the photo (as training looks for faces).
   */
  fallback?: FaceResult[];
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    realfaces: { type: "string", default: "../shared/data/realfaces" },
    orl: { type: "string", default: "" },
    recognizers: { type: "string", default: "resnet,lbph" },
    sets: { type: "string", default: "realfaces,orl" },
    "no-align": { type: "boolean", default: false },
    threshold: { type: "string", default: String(DEFAULT_RESNET_THRESHOLD) },
    ambiguity: { type: "string", default: String(DEFAULT_AMBIGUITY) },
    verbose: { type: "boolean", default: false },
  },
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sortedEntries(dir: string): Promise<Deno.DirEntry[]> {
  const entries: Deno.DirEntry[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith(".")) entries.push(entry);
  }
  return entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Runs realfaces' split.sh into a temporary folder and lists it. */
async function realfacesSet(src: string, dest: string): Promise<DataSet> {
  const split = new Deno.Command("bash", {
    args: [`${src}/split.sh`, src, dest],
    stdout: "inherit",
    stderr: "inherit",
  });
  if (!(await split.output()).success) {
    throw new Error(`${src}/split.sh failed`);
  }
  const train: Sample[] = [];
  const probes: Sample[] = [];
  for (const person of await sortedEntries(`${dest}/train`)) {
    for (const f of await sortedEntries(`${dest}/train/${person.name}`)) {
      train.push({
        path: `${dest}/train/${person.name}/${f.name}`,
        person: person.name,
      });
    }
  }
  for (const person of await sortedEntries(`${dest}/probe`)) {
    const who = person.name === "_stranger" ? null : person.name;
    for (const f of await sortedEntries(`${dest}/probe/${person.name}`)) {
      probes.push({
        path: `${dest}/probe/${person.name}/${f.name}`,
        person: who,
      });
    }
  }
  return { name: "realfaces", train, probes };
}

/** ORL: s1-s20 known (1-5 trained, 6-10 probed), s21-s40 strangers (6-10). */
async function orlSet(dir: string): Promise<DataSet> {
  const people = (await sortedEntries(dir))
    .filter((e) => /^s\d+$/.test(e.name))
    .map((e) => Number(e.name.slice(1)))
    .sort((a, b) => a - b);
  // The 8-person fixture subset splits the same way: first half known.
  const known = people.length >= 40 ? 20 : Math.floor(people.length / 2);
  const train: Sample[] = [];
  const probes: Sample[] = [];
  people.forEach((p, i) => {
    for (let k = 1; k <= 10; k++) {
      const path = `${dir}/s${p}/${k}.pgm`;
      if (i < known) {
        (k <= 5 ? train : probes).push({ path, person: `s${p}` });
      } else if (k > 5) probes.push({ path, person: null });
    }
  });
  return {
    name: `ORL (${known} known, ${people.length - known} strangers)`,
    train,
    probes,
  };
}

async function makeMethod(
  name: string,
  kind: "resnet" | "lbph",
  params: Record<string, number>,
  ambiguity: number,
  threshold?: number,
): Promise<Method> {
  const recognizer = await createRecognizer(kind, { params, threshold });
  const method: Method = {
    name,
    recognizer,
    ambiguity,
    calibrate: kind === "lbph",
    sweep: () =>
      kind === "lbph"
        ? [0.7, 0.8, 0.9, 1, 1.1, 1.2].map((f) => f * recognizer.threshold)
        : [0.4, 0.45, 0.5, 0.55, 0.6, 0.65],
    trained: [],
    times: [],
    calibrated: NaN,
  };
  return method;
}

/** Reads a photo as colour and grey, or explains why it cannot be used. */
async function load(path: string): Promise<[Image, Image] | string> {
  try {
    const colour = await readImage(path);
    return [colour, toGrey(colour)];
  } catch (error) {
    return (error as Error).message;
  }
}

function describeTimed(
  method: Method,
  colour: Image,
  grey: Image,
  box: Box,
): { descriptor: Float32Array; isFace: boolean } {
  const recognizer = method.recognizer;
  const frame = recognizer.channels === 1 ? grey : colour;
  const t0 = performance.now();
  const result = recognizer instanceof ResnetRecognizer
    ? recognizer.describeFace(frame, box)
    : { descriptor: recognizer.describe(frame, box), isFace: true };
  // The first call includes the networks' warm-up.
  if (method.trained.length > 0) method.times.push(performance.now() - t0);
  return result;
}

/**
 * The largest face detected on the photo set in a border of its edge pixels
 * (half its size each side), in photo coordinates: finds faces that fill a
 * tightly cropped photo, as `findTrainingFace` does when it finds nothing.
 */
function paddedDetection(grey: Image, detector: FaceDetector): Box | undefined {
  const padX = Math.round(grey.width / 2), padY = Math.round(grey.height / 2);
  const width = grey.width + 2 * padX, height = grey.height + 2 * padY;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(Math.max(y - padY, 0), grey.height - 1);
    for (let x = 0; x < width; x++) {
      const sx = Math.min(Math.max(x - padX, 0), grey.width - 1);
      data[y * width + x] = grey.data[sy * grey.width + sx];
    }
  }
  const found = largestFace(
    detector.detect(
      { width, height, channels: 1, data },
      TRAINING_DETECT_OPTIONS,
    ),
  );
  if (!found) return undefined;
  const x0 = Math.max(0, found.x - padX), y0 = Math.max(0, found.y - padY);
  const x1 = Math.min(grey.width, found.x + found.w - padX);
  const y1 = Math.min(grey.height, found.y + found.h - padY);
  if (x1 - x0 < found.w / 2 || y1 - y0 < found.h / 2) return undefined;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

/** Trains every method on `set`, names its probes and prints the report. */
async function evaluate(
  set: DataSet,
  methods: Method[],
  detector: FaceDetector,
): Promise<void> {
  const labelOf = new Map<string, number>();
  const nameOf = new Map<number, string>();
  const trainLabels: number[] = [];
  let noFace = 0;
  for (const sample of set.train) {
    const images = await load(sample.path);
    if (typeof images === "string") {
      console.error(`  skipped ${images}`);
      continue;
    }
    const [colour, grey] = images;
    const box = findTrainingFace(grey, detector, TRAINING_DETECT_OPTIONS);
    if (!box) {
      noFace++;
      console.error(`  no face in training photo ${sample.path}`);
      continue;
    }
    if (!labelOf.has(sample.person!)) {
      labelOf.set(sample.person!, labelOf.size);
      nameOf.set(labelOf.get(sample.person!)!, sample.person!);
    }
    for (const m of methods) {
      m.trained.push(describeTimed(m, colour, grey, box).descriptor);
    }
    trainLabels.push(labelOf.get(sample.person!)!);
  }
  for (const m of methods) {
    m.recognizer.add(m.trained, trainLabels);
    for (const [label, name] of nameOf) {
      m.recognizer.labelNames.set(label, name);
    }
    let calibrated = NaN;
    try {
      calibrated = calibrateThreshold(m.recognizer).threshold;
    } catch {
      // One person, or one photo each: nothing to calibrate on.
    }
    if (m.calibrate) m.recognizer.threshold = calibrated || Number.MAX_VALUE;
    m.calibrated = calibrated;
  }
  console.log(
    `${set.name}: ${trainLabels.length} training faces of ${labelOf.size} people` +
      (noFace ? ` (${noFace} photos without a face)` : ""),
  );

  const results = new Map<Method, ProbeResult[]>(methods.map((m) => [m, []]));
  for (const sample of set.probes) {
    const images = await load(sample.path);
    if (typeof images === "string") {
      console.error(`  skipped ${images}`);
      continue;
    }
    const [colour, grey] = images;
    let boxes = detector.detect(grey, TRAINING_DETECT_OPTIONS);
    if (boxes.length === 0) {
      const box = findTrainingFace(grey, detector, TRAINING_DETECT_OPTIONS);
      boxes = box ? [box] : [];
    }
    const own = sample.person === null ? -1 : labelOf.get(sample.person) ?? -1;
    const describeAll = (m: Method, boxes: Box[]): FaceResult[] =>
      boxes.map((box) => {
        const { descriptor: d, isFace } = describeTimed(m, colour, grey, box);
        let same = Infinity, other = Infinity;
        m.trained.forEach((t, k) => {
          const dist = m.recognizer.distance(d, t);
          if (trainLabels[k] === own) same = Math.min(same, dist);
          else other = Math.min(other, dist);
        });
        return { nearest: m.recognizer.nearestTwo(d), isFace, same, other };
      });
    for (const m of methods) {
      const faces = describeAll(m, boxes);
      const result: ProbeResult = {
        path: sample.path,
        person: sample.person,
        faces,
      };
      // Haar found only things that are not faces (an eye, a mouth in a
      // tightly cropped photo): look again as training does, with room
      // around the picture.
      if (faces.length > 0 && faces.every((f) => !f.isFace)) {
        const box = paddedDetection(grey, detector);
        result.fallback = describeAll(m, box ? [box] : []);
      }
      results.get(m)!.push(result);
    }
  }
  for (const m of methods) report(set, m, results.get(m)!, nameOf);
}

/** When a face is named. */
interface Rule {
  threshold: number;
  ambiguity: number;
  /** Faces resnet's landmark check calls non-faces are never named. */
  faceCheck: boolean;
}

/** The name a face gets under `rule`, or null for unknown. */
function nameOfFace(
  face: FaceResult,
  rule: Rule,
  names: Map<number, string>,
): string | null {
  if (rule.faceCheck && !face.isFace) return null;
  const { best, runnerUp } = face.nearest;
  const clear = rule.ambiguity >= 1 || runnerUp === null ||
    best.distance <= rule.ambiguity * runnerUp.distance;
  return best.distance < rule.threshold && clear
    ? names.get(best.label) ?? String(best.label)
    : null;
}

/** A probe's outcome: right, wrong, unknown (known people) or rejected, named (strangers). */
function outcome(
  probe: ProbeResult,
  rule: Rule,
  names: Map<number, string>,
): "right" | "wrong" | "unknown" | "rejected" | "named" {
  const faces = rule.faceCheck && probe.fallback ? probe.fallback : probe.faces;
  const named = faces
    .map((f) => nameOfFace(f, rule, names))
    .filter((n): n is string => n !== null);
  if (probe.person === null) return named.length === 0 ? "rejected" : "named";
  if (named.some((n) => n !== probe.person)) return "wrong";
  return named.includes(probe.person) ? "right" : "unknown";
}

function tally(
  results: ProbeResult[],
  rule: Rule,
  names: Map<number, string>,
) {
  const count = { right: 0, wrong: 0, unknown: 0, rejected: 0, named: 0 };
  for (const probe of results) count[outcome(probe, rule, names)]++;
  return {
    ...count,
    known: count.right + count.wrong + count.unknown,
    strangers: count.rejected + count.named,
  };
}

const pct = (a: number, b: number) =>
  `${(100 * a / Math.max(b, 1)).toFixed(1)}%`;

function distribution(values: number[]): string {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return "n 0";
  const q = (p: number) => percentile(finite, p).toFixed(3);
  return `n ${finite.length}: min ${q(0)} p5 ${q(5)} p25 ${q(25)} median ${
    q(50)
  } p75 ${q(75)} p95 ${q(95)} max ${q(100)}`;
}

function summary(t: ReturnType<typeof tally>): string {
  return `right ${t.right} (${pct(t.right, t.known)}), wrong ${t.wrong} (${
    pct(t.wrong, t.known)
  }), unknown or no face ${t.unknown} (${
    pct(t.unknown, t.known)
  }) of ${t.known} known probes; strangers rejected ${t.rejected}/${t.strangers} (${
    pct(t.rejected, t.strangers)
  })`;
}

function report(
  set: DataSet,
  m: Method,
  results: ProbeResult[],
  names: Map<number, string>,
): void {
  const threshold = m.recognizer.threshold;
  const aligned = m.recognizer instanceof ResnetRecognizer &&
    m.recognizer.align;
  const rule: Rule = { threshold, ambiguity: m.ambiguity, faceCheck: false };
  const ms = m.times.length ? percentile(m.times, 50).toFixed(1) : "-";
  console.log(
    `\n${set.name} / ${m.name}  (threshold ${
      threshold.toPrecision(3)
    }, ambiguity ${m.ambiguity}, calibrated on training faces ${
      m.calibrated.toPrecision(3)
    }, median ${ms} ms a face)`,
  );
  console.log(`  ${summary(tally(results, rule, names))}`);
  if (aligned) {
    console.log(
      `  with the landmark face check (and a second look when it rejects every box): ${
        summary(tally(results, { ...rule, faceCheck: true }, names))
      }`,
    );
  }
  // The probe's own face is the one nearest to its person's training faces.
  const same: number[] = [], other: number[] = [], strangers: number[] = [];
  const strangerFaces: number[] = [];
  let noFace = 0;
  for (const probe of results) {
    if (probe.faces.length === 0) {
      noFace++;
      continue;
    }
    if (probe.person === null) {
      for (const f of probe.faces) {
        strangers.push(f.nearest.best.distance);
        if (f.isFace) strangerFaces.push(f.nearest.best.distance);
      }
      continue;
    }
    const own = probe.faces.reduce((a, b) => (b.same < a.same ? b : a));
    same.push(own.same);
    other.push(own.other);
  }
  console.log(`  same person, nearest training face:    ${distribution(same)}`);
  console.log(
    `  same probe face, nearest other person: ${distribution(other)}`,
  );
  console.log(
    `  stranger boxes, nearest training face: ${distribution(strangers)}`,
  );
  if (aligned) {
    console.log(
      `  stranger boxes passing the face check: ${distribution(strangerFaces)}`,
    );
  }
  if (noFace) console.log(`  ${noFace} probes without a detected face`);
  const rows = m.sweep().map((t) => {
    const s = tally(results, { ...rule, threshold: t }, names);
    const c = tally(results, { ...rule, threshold: t, faceCheck: true }, names);
    return `    ${t.toPrecision(3).padStart(8)}  right ${
      pct(s.right, s.known).padStart(6)
    }  wrong ${pct(s.wrong, s.known).padStart(5)}  unknown ${
      pct(s.unknown, s.known).padStart(6)
    }  strangers rejected ${pct(s.rejected, s.strangers).padStart(6)}` +
      (aligned
        ? `  | face check: right ${pct(c.right, c.known).padStart(6)}  wrong ${
          pct(c.wrong, c.known).padStart(5)
        }  strangers rejected ${pct(c.rejected, c.strangers).padStart(6)}`
        : "");
  });
  console.log(`  by threshold (ambiguity ${m.ambiguity}):\n${rows.join("\n")}`);
  const byAmbiguity = [1, 0.93, 0.85, 0.8].map((a) => {
    const s = tally(
      results,
      { ...rule, ambiguity: a, faceCheck: aligned },
      names,
    );
    return `    ${String(a).padStart(8)}  right ${
      pct(s.right, s.known).padStart(6)
    }  wrong ${pct(s.wrong, s.known).padStart(5)}  unknown ${
      pct(s.unknown, s.known).padStart(6)
    }  strangers rejected ${pct(s.rejected, s.strangers).padStart(6)}`;
  });
  console.log(
    `  by ambiguity (threshold ${threshold.toPrecision(3)}${
      aligned ? ", face check" : ""
    }):\n${byAmbiguity.join("\n")}`,
  );
  if (values.verbose) {
    for (const probe of results) {
      const result = outcome(probe, rule, names);
      if (result === "right" || result === "rejected") continue;
      const faces = probe.faces.map((f) =>
        `${nameOfFace(f, rule, names) ?? "unknown"} (best ${
          f.nearest.best.distance.toFixed(3)
        } ${names.get(f.nearest.best.label)}, own ${f.same.toFixed(3)}, other ${
          f.other.toFixed(3)
        }${f.isFace ? "" : ", not a face"})`
      );
      console.log(
        `    ${result}: ${probe.path}: ${faces.join("; ") || "no face"}`,
      );
    }
  }
}

async function main(): Promise<void> {
  const threshold = Number(values.threshold);
  const ambiguity = Number(values.ambiguity);
  const kinds = values.recognizers.split(",").map((s) => s.trim());
  const sets = values.sets.split(",").map((s) => s.trim());
  const detector = await FaceDetector.create();
  const makeMethods = async (): Promise<Method[]> => {
    const methods: Method[] = [];
    if (kinds.includes("resnet")) {
      if (!values["no-align"]) {
        methods.push(
          await makeMethod(
            "resnet, aligned",
            "resnet",
            { align: 1 },
            ambiguity,
            threshold,
          ),
        );
      }
      methods.push(
        await makeMethod(
          "resnet, Haar box (--no-align)",
          "resnet",
          { align: 0 },
          ambiguity,
          threshold,
        ),
      );
    }
    if (kinds.includes("lbph")) {
      methods.push(await makeMethod("lbph", "lbph", {}, ambiguity));
    }
    return methods;
  };

  if (sets.includes("realfaces")) {
    const dest = await Deno.makeTempDir({ prefix: "facezmq_realfaces_" });
    try {
      await evaluate(
        await realfacesSet(values.realfaces, dest),
        await makeMethods(),
        detector,
      );
    } finally {
      await Deno.remove(dest, { recursive: true });
    }
  }
  if (sets.includes("orl")) {
    const orl = values.orl ||
      (await exists("../shared/data/orl/s40")
        ? "../shared/data/orl"
        : "tests/fixtures/orl");
    console.log("");
    await evaluate(await orlSet(orl), await makeMethods(), detector);
  }
  detector.close();
}

if (import.meta.main) await main();
