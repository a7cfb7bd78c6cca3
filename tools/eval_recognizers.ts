/**
 * Compares the recognisers on real photos: how many known people are named
 * right, how many get a wrong name, and how many strangers are left
 * `unknown`; plus the distance distributions a threshold is chosen from,
 * and what resnet's landmark face check does to Haar's boxes.
 *
 * Data sets (read at run time, never copied into the repository):
 *
 * - realfaces: `split.sh` of the realfaces folder (18 people, 2 photos each
 *   trained, the rest probed; strangers from compreface and facenet-pytorch);
 * - ORL: images 1-5 of s1-s20 trained, 6-10 probed; 6-10 of s21-s30 are
 *   the strangers (s31-s40 are the bundled strangers every model holds);
 * - detection (`--sets detection`): the PASCAL photos with hand-marked faces
 *   (testing.xml and training.xml): Haar's boxes that are faces and that are
 *   not, and how many of each resnet's face check keeps.
 *
 * Each recogniser is trained as `deno task train` trains it
 * (`trainFromFolder`: training's detection, the bundled strangers in the
 * model, the threshold learned from them) and names every probe as
 * `deno task recognize` does (`describeFaces` with `photo`: a second look
 * with a border when a photo shows no face; boxes resnet's landmarks call
 * no face are left out), with the unknown rule of lib/face/naming.ts. A
 * known probe is right when its person's name is on one of its faces and
 * no face carries a wrong name, wrong when any face carries a wrong name,
 * and unknown otherwise (no face, or only `unknown`). A stranger photo is
 * rejected when no face carries a name.
 *
 * Below that line, the same descriptors against the people alone (no
 * strangers), by threshold and by ambiguity (best <= ambiguity x
 * runner-up), for choosing those constants; for the aligned resnet also
 * without the face check (every Haar box described).
 *
 * ```sh
 * deno run -A tools/eval_recognizers.ts [--realfaces ../shared/data/realfaces]
 *   [--orl ../shared/data/orl] [--detection ../shared/data/detection]
 *   [--recognizers resnet,lbph] [--no-align] [--sets realfaces,orl]
 *   [--verbose]
 * ```
 *
 * `--verbose` lists every probe that is not right. About 2 minutes on one
 * core; the realfaces split goes to a temporary folder that is removed.
 * `resnet` is evaluated with alignment (landmarks + dlib face chip) and
 * without (the Haar box resized to the chip); `--no-align` keeps only the
 * latter.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { FaceDetector, SERVER_DETECT_OPTIONS } from "../lib/face/detector.ts";
import type { DetectOptions } from "../lib/face/detector.ts";
import {
  DEFAULT_AMBIGUITY,
  describeFaces,
  nameDescriptor,
  STRANGER_LABEL,
} from "../lib/face/naming.ts";
import type { Nearest, Recognizer } from "../lib/face/recognizer.ts";
import { createRecognizer } from "../lib/face/recognizers.ts";
import { ResnetRecognizer } from "../lib/face/resnet.ts";
import {
  summaryLine,
  trainFromFolder,
  TRAINING_DETECT_OPTIONS,
} from "../lib/face/training.ts";
import { type Box, type Image, toGrey } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import { percentile } from "../lib/measure/stats.ts";

/** One probe photo; `person` null for a stranger. */
interface Sample {
  path: string;
  person: string | null;
}

/** A training folder (`<dir>/<person>/<photos>`) and the probes. */
interface DataSet {
  name: string;
  train: string;
  probes: Sample[];
}

/** A recogniser under test. */
interface Method {
  name: string;
  kind: "resnet" | "lbph";
  params?: Record<string, number>;
  /** Also describe every Haar box, face check or not (aligned resnet). */
  unchecked: boolean;
}

/** What one probe face gave. */
interface FaceResult {
  /** Its name under the model's own rule, or null for unknown. */
  name: string | null;
  /** Nearest two among the people alone (no strangers). */
  nearest: Nearest;
  /** Nearest training face of the probe's own person (Infinity if none). */
  same: number;
  /** Nearest training face of anybody else. */
  other: number;
  /** Nearest bundled stranger's face. */
  stranger: number;
}

/** One probe photo's faces. */
interface ProbeResult {
  path: string;
  person: string | null;
  faces: FaceResult[];
  /** Every Haar box described, face check or not (`Method.unchecked`). */
  unchecked?: FaceResult[];
}

const { values } = parseArgs({
  args: Deno.args,
  options: {
    realfaces: { type: "string", default: "../shared/data/realfaces" },
    orl: { type: "string", default: "" },
    detection: { type: "string", default: "../shared/data/detection" },
    recognizers: { type: "string", default: "resnet,lbph" },
    sets: { type: "string", default: "realfaces,orl" },
    "no-align": { type: "boolean", default: false },
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

async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.name.startsWith(".")) names.push(entry.name);
  }
  return names.sort();
}

/** Runs realfaces' split.sh into `dest` and lists it. */
async function realfacesSet(src: string, dest: string): Promise<DataSet> {
  const split = new Deno.Command("bash", {
    args: [`${src}/split.sh`, src, dest],
    stdout: "inherit",
    stderr: "inherit",
  });
  if (!(await split.output()).success) {
    throw new Error(`${src}/split.sh failed`);
  }
  const probes: Sample[] = [];
  for (const person of await sortedNames(`${dest}/probe`)) {
    const who = person === "_stranger" ? null : person;
    for (const f of await sortedNames(`${dest}/probe/${person}`)) {
      probes.push({ path: `${dest}/probe/${person}/${f}`, person: who });
    }
  }
  return { name: "realfaces", train: `${dest}/train`, probes };
}

/**
 * ORL in `dest`: s1-s20 known (1-5 trained, 6-10 probed), 6-10 of s21-s30
 * strangers; the 8-person fixture subset splits in halves the same way.
 */
async function orlSet(dir: string, dest: string): Promise<DataSet> {
  const people = (await sortedNames(dir))
    .filter((name) => /^s\d+$/.test(name))
    .map((name) => Number(name.slice(1)))
    .sort((a, b) => a - b);
  const known = people.length >= 40 ? 20 : Math.floor(people.length / 2);
  const strangers = people.length >= 40 ? 10 : people.length - known;
  const probes: Sample[] = [];
  for (const [i, p] of people.slice(0, known + strangers).entries()) {
    if (i < known) await Deno.mkdir(`${dest}/s${p}`);
    for (let k = 1; k <= 10; k++) {
      const path = await Deno.realPath(`${dir}/s${p}/${k}.pgm`);
      if (i < known && k <= 5) {
        await Deno.symlink(path, `${dest}/s${p}/${k}.pgm`);
      } else if (k > 5) {
        probes.push({ path, person: i < known ? `s${p}` : null });
      }
    }
  }
  return {
    name: `ORL (${known} known, ${strangers} strangers)`,
    train: dest,
    probes,
  };
}

/**
 * `recognizer` describing every box, as if it had no face check: for
 * measuring what the check does.
 */
function withoutFaceCheck(recognizer: ResnetRecognizer): Recognizer {
  return {
    kind: recognizer.kind,
    descriptorSize: recognizer.descriptorSize,
    channels: recognizer.channels,
    get threshold() {
      return recognizer.threshold;
    },
    labelNames: recognizer.labelNames,
    get size() {
      return recognizer.size;
    },
    get labels() {
      return recognizer.labels;
    },
    describe: (frame, box, options) =>
      options?.whole
        ? recognizer.describe(frame, box, options)
        : recognizer.describeFace(frame, box).descriptor,
    add: (descriptors, labels) => recognizer.add(descriptors, labels),
    nearestTwo: (descriptor) => recognizer.nearestTwo(descriptor),
    distance: (a, b) => recognizer.distance(a, b),
    pack: () => recognizer.pack(),
  };
}

/** The model's people alone (no bundled strangers), to weigh other rules. */
async function peopleOnly(model: Recognizer): Promise<Recognizer> {
  const packed = model.pack();
  const n = model.descriptorSize;
  const people = await createRecognizer(model.kind, { params: packed.params });
  const rows: Float32Array[] = [];
  const labels: number[] = [];
  packed.labels.forEach((label, i) => {
    if (label === STRANGER_LABEL) return;
    rows.push(packed.descriptors.subarray(i * n, (i + 1) * n));
    labels.push(label);
  });
  people.add(rows, labels);
  for (const [label, name] of model.labelNames) {
    people.labelNames.set(label, name);
  }
  return people;
}

/** Trains `method` on `set`, names its probes and prints the report. */
async function evaluate(
  set: DataSet,
  method: Method,
  detector: FaceDetector,
): Promise<void> {
  const trained = await trainFromFolder(set.train, {
    recognizer: method.kind,
    params: method.params,
    detector,
    onWarning: (line) => console.error(`  ${line}`),
  });
  const model = trained.recognizer;
  const people = await peopleOnly(model);
  const { rows, labels } = unpack(model);
  const labelOf = new Map(
    [...model.labelNames].map(([label, name]) => [name, label]),
  );
  const results: ProbeResult[] = [];
  const times: number[] = [];
  const facesOf = (
    recognizer: Recognizer,
    colour: Image,
    own: number,
  ): FaceResult[] =>
    describeFaces(colour, {
      recognizer,
      detector,
      detect: TRAINING_DETECT_OPTIONS,
      photo: true,
    }).map(({ descriptor }) => {
      let same = Infinity, other = Infinity, stranger = Infinity;
      rows.forEach((row, k) => {
        const d = model.distance(descriptor, row);
        if (labels[k] === STRANGER_LABEL) stranger = Math.min(stranger, d);
        else if (labels[k] === own) same = Math.min(same, d);
        else other = Math.min(other, d);
      });
      const { label } = nameDescriptor(descriptor, { recognizer: model });
      return {
        name: label >= 0 ? model.labelNames.get(label)! : null,
        nearest: people.nearestTwo(descriptor),
        same,
        other,
        stranger,
      };
    });
  for (const sample of set.probes) {
    let colour: Image;
    try {
      colour = await readImage(sample.path);
    } catch (error) {
      console.error(`  skipped ${(error as Error).message}`);
      continue;
    }
    const own = sample.person === null ? -1 : labelOf.get(sample.person) ?? -1;
    const t0 = performance.now();
    const faces = facesOf(model, colour, own);
    times.push(performance.now() - t0);
    const result: ProbeResult = { ...sample, faces };
    if (method.unchecked && model instanceof ResnetRecognizer) {
      result.unchecked = facesOf(withoutFaceCheck(model), colour, own);
    }
    results.push(result);
  }
  report(set, method, trained, results, times);
}

/** The training rows of a recogniser, with their labels. */
function unpack(
  recognizer: Recognizer,
): { rows: Float32Array[]; labels: readonly number[] } {
  const { descriptors, labels } = recognizer.pack();
  const n = recognizer.descriptorSize;
  const rows = labels.map((_, i) => descriptors.subarray(i * n, (i + 1) * n));
  return { rows, labels };
}

/** When a face is named, for the tables below the model's own rule. */
interface Rule {
  threshold: number;
  ambiguity: number;
}

/** The name a face gets under `rule` among the people alone, or null. */
function nameUnder(
  face: FaceResult,
  rule: Rule | null,
  names: Map<number, string>,
): string | null {
  if (rule === null) return face.name;
  const { best, runnerUp } = face.nearest;
  const clear = rule.ambiguity >= 1 || runnerUp === null ||
    best.distance <= rule.ambiguity * runnerUp.distance;
  return best.distance < rule.threshold && clear
    ? names.get(best.label) ?? String(best.label)
    : null;
}

type Outcome = "right" | "wrong" | "unknown" | "rejected" | "named";

/** A probe's outcome; `rule` null: the model's own rule. */
function outcome(
  person: string | null,
  faces: FaceResult[],
  rule: Rule | null,
  names: Map<number, string>,
): Outcome {
  const named = faces
    .map((f) => nameUnder(f, rule, names))
    .filter((n): n is string => n !== null);
  if (person === null) return named.length === 0 ? "rejected" : "named";
  if (named.some((n) => n !== person)) return "wrong";
  return named.includes(person) ? "right" : "unknown";
}

function tally(
  results: ProbeResult[],
  rule: Rule | null,
  names: Map<number, string>,
  unchecked = false,
) {
  const count = { right: 0, wrong: 0, unknown: 0, rejected: 0, named: 0 };
  for (const probe of results) {
    const faces = unchecked ? probe.unchecked ?? probe.faces : probe.faces;
    count[outcome(probe.person, faces, rule, names)]++;
  }
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
  trained: Awaited<ReturnType<typeof trainFromFolder>>,
  results: ProbeResult[],
  times: number[],
): void {
  const model = trained.recognizer;
  const names = model.labelNames;
  const ms = times.length ? percentile(times, 50).toFixed(0) : "-";
  console.log(`\n${set.name} / ${m.name}  (median ${ms} ms a probe photo)`);
  console.log(`  ${summaryLine(trained)}`);
  console.log(
    `  as recognize names them: ${summary(tally(results, null, names))}`,
  );
  const boxes = (faces: (r: ProbeResult) => FaceResult[] | undefined) =>
    results.reduce((n, r) => n + (faces(r)?.length ?? 0), 0);
  if (m.unchecked) {
    console.log(
      `  without the face check:  ${
        summary(tally(results, null, names, true))
      }; ${boxes((r) => r.unchecked)} boxes named instead of ${
        boxes((r) => r.faces)
      }`,
    );
  }
  const same: number[] = [], other: number[] = [], strangers: number[] = [];
  const bundled: number[] = [];
  let noFace = 0;
  for (const probe of results) {
    if (probe.faces.length === 0) {
      noFace++;
      continue;
    }
    if (probe.person === null) {
      for (const f of probe.faces) strangers.push(f.nearest.best.distance);
      continue;
    }
    // The probe's own face is the one nearest to its person's training faces.
    const own = probe.faces.reduce((a, b) => (b.same < a.same ? b : a));
    same.push(own.same);
    other.push(own.other);
    bundled.push(own.stranger);
  }
  console.log(`  same person, nearest training face:    ${distribution(same)}`);
  console.log(
    `  same probe face, nearest other person: ${distribution(other)}`,
  );
  console.log(
    `  same probe face, nearest stranger:     ${distribution(bundled)}`,
  );
  console.log(
    `  stranger photos' faces, nearest person: ${distribution(strangers)}`,
  );
  if (noFace) console.log(`  ${noFace} probes without a face`);
  const threshold = model.threshold;
  const sweep = m.kind === "lbph"
    ? [0.7, 0.8, 0.9, 1, 1.1, 1.2].map((f) => f * threshold)
    : [0.4, 0.45, 0.5, 0.55, 0.6, 0.65];
  const line = (s: ReturnType<typeof tally>) =>
    `right ${pct(s.right, s.known).padStart(6)}  wrong ${
      pct(s.wrong, s.known).padStart(5)
    }  unknown ${pct(s.unknown, s.known).padStart(6)}  strangers rejected ${
      pct(s.rejected, s.strangers).padStart(6)
    }`;
  const rows = sweep.map((t) => {
    const rule = { threshold: t, ambiguity: DEFAULT_AMBIGUITY };
    return `    ${t.toPrecision(3).padStart(8)}  ${
      line(tally(results, rule, names))
    }` +
      (m.unchecked
        ? `  | no face check: ${line(tally(results, rule, names, true))}`
        : "");
  });
  console.log(
    `  people alone, by threshold (ambiguity ${DEFAULT_AMBIGUITY}):\n${
      rows.join("\n")
    }`,
  );
  const byAmbiguity = [1, 0.93, 0.85, 0.8].map((a) =>
    `    ${String(a).padStart(8)}  ${
      line(tally(results, { threshold, ambiguity: a }, names))
    }`
  );
  console.log(
    `  people alone, by ambiguity (threshold ${threshold.toPrecision(3)}):\n${
      byAmbiguity.join("\n")
    }`,
  );
  if (values.verbose) {
    for (const probe of results) {
      const result = outcome(probe.person, probe.faces, null, names);
      if (result === "right" || result === "rejected") continue;
      const faces = probe.faces.map((f) =>
        `${f.name ?? "unknown"} (nearest ${
          f.nearest.best.distance.toFixed(3)
        } ${names.get(f.nearest.best.label)}, own ${f.same.toFixed(3)}, other ${
          f.other.toFixed(3)
        }, stranger ${f.stranger.toFixed(3)})`
      );
      console.log(
        `    ${result}: ${probe.path}: ${faces.join("; ") || "no face"}`,
      );
    }
  }
}

/** Hand-marked faces by photo, from dlib's XML files. */
async function markedFaces(dir: string): Promise<Map<string, Box[]>> {
  const faces = new Map<string, Box[]>();
  for (const xml of ["testing.xml", "training.xml"]) {
    const text = await Deno.readTextFile(`${dir}/${xml}`);
    for (
      const image of text.matchAll(
        /<image file='([^']+)'[^>]*>([\s\S]*?)<\/image>/g,
      )
    ) {
      const boxes = [
        ...image[2].matchAll(
          /top='(\d+)' left='(\d+)' width='(\d+)' height='(\d+)'/g,
        ),
      ].map((b) => ({ x: +b[2], y: +b[1], w: +b[3], h: +b[4] }));
      faces.set(image[1], [...(faces.get(image[1]) ?? []), ...boxes]);
    }
  }
  return faces;
}

/**
 * Whether a Haar box is on a marked face: dlib's boxes are tighter than
 * Haar's, so the centre of one inside the other, or IoU at least 0.3
 * (../shared/data/README.md).
 */
function onFace(box: Box, marked: Box[]): boolean {
  const inside = (o: Box, b: Box) => {
    const cx = b.x + b.w / 2, cy = b.y + b.h / 2;
    return cx >= o.x && cx <= o.x + o.w && cy >= o.y && cy <= o.y + o.h;
  };
  return marked.some((m) => {
    const x0 = Math.max(m.x, box.x), y0 = Math.max(m.y, box.y);
    const x1 = Math.min(m.x + m.w, box.x + box.w);
    const y1 = Math.min(m.y + m.h, box.y + box.h);
    const i = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
    return i / (m.w * m.h + box.w * box.h - i) >= 0.3 || inside(m, box) ||
      inside(box, m);
  });
}

/** Haar's boxes on the marked photos, and what the face check keeps. */
async function faceCheckReport(
  dir: string,
  detector: FaceDetector,
): Promise<void> {
  const marked = await markedFaces(dir);
  const resnet = await ResnetRecognizer.create();
  const settings: [string, DetectOptions][] = [
    ["server's detection", SERVER_DETECT_OPTIONS],
    ["training's (and recognize's)", TRAINING_DETECT_OPTIONS],
    ["default cascade, 1 neighbour (many false boxes)", { minNeighbors: 1 }],
  ];
  console.log(
    `\nresnet's face check on ${marked.size} photos with ${
      [...marked.values()].reduce((n, b) => n + b.length, 0)
    } marked faces (${dir}):`,
  );
  for (const [name, options] of settings) {
    let faces = 0, facesKept = 0, other = 0, otherKept = 0;
    const residuals: string[] = [];
    for (const [file, boxes] of marked) {
      const colour = await readImage(`${dir}/${file}`);
      for (const box of detector.detect(toGrey(colour), options)) {
        const { isFace, shapeResidual } = resnet.describeFace(colour, box);
        if (onFace(box, boxes)) {
          faces++;
          if (isFace) facesKept++;
        } else {
          other++;
          if (isFace) otherKept++;
          residuals.push(shapeResidual!.toFixed(2));
        }
      }
    }
    console.log(
      `  ${name}: ${faces} boxes on marked faces, ${facesKept} kept; ${other} elsewhere, ${otherKept} kept${
        residuals.length ? ` (residuals ${residuals.join(" ")})` : ""
      }`,
    );
  }
}

async function main(): Promise<void> {
  const kinds = values.recognizers.split(",").map((s) => s.trim());
  const sets = values.sets.split(",").map((s) => s.trim());
  const methods: Method[] = [];
  if (kinds.includes("resnet")) {
    if (!values["no-align"]) {
      methods.push({
        name: "resnet, aligned",
        kind: "resnet",
        params: { align: 1 },
        unchecked: true,
      });
    }
    methods.push({
      name: "resnet, Haar box (--no-align)",
      kind: "resnet",
      params: { align: 0 },
      unchecked: false,
    });
  }
  if (kinds.includes("lbph")) {
    methods.push({ name: "lbph", kind: "lbph", unchecked: false });
  }
  const detector = await FaceDetector.create();
  try {
    if (sets.includes("realfaces")) {
      const dest = await Deno.makeTempDir({ prefix: "facezmq_realfaces_" });
      try {
        const set = await realfacesSet(values.realfaces, dest);
        for (const m of methods) await evaluate(set, m, detector);
      } finally {
        await Deno.remove(dest, { recursive: true });
      }
    }
    if (sets.includes("orl")) {
      const orl = values.orl ||
        (await exists("../shared/data/orl/s40")
          ? "../shared/data/orl"
          : "tests/fixtures/orl");
      const dest = await Deno.makeTempDir({ prefix: "facezmq_orl_" });
      try {
        const set = await orlSet(orl, dest);
        for (const m of methods) await evaluate(set, m, detector);
      } finally {
        await Deno.remove(dest, { recursive: true });
      }
    }
    if (sets.includes("detection")) {
      await faceCheckReport(values.detection, detector);
    }
  } finally {
    detector.close();
  }
}

if (import.meta.main) await main();
