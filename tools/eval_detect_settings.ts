/**
 * Compares Haar detection settings for the server on 640x480 grey frames,
 * against native OpenCV running the original Python design's settings
 * (haarcascade_frontalface_alt, scaleFactor 1.2, minNeighbors 5, full
 * frame) on the same pixels in the same run.
 *
 *     deno run -A tools/eval_detect_settings.ts [--runs N] [--only a,b]
 *       [--orl DIR] [--realfaces DIR] [--dump DIR]
 *
 * Frame sets, all 640x480 grey:
 *
 * - `photos`: the nine annotated detection photos (tests/fixtures/detection,
 *   cv2-decoded) centred on a grey canvas, faces at their own size (most
 *   ~37 px); scored apart for training.xml and testing.xml.
 * - `small`: 192 frames made here, deterministically: a detection photo
 *   scaled to cover the frame (its own faces are "don't care" regions) with
 *   four ORL faces (92x112, from `--orl`) pasted at sizes of 30 to 90 px;
 *   an ORL image's Haar box is about its width, so the size is the face's.
 * - `clip`: every 3rd frame of samples/sample.mp4 (samples/sample_truth.json,
 *   faces of ~70-180 px), decoded to grey by ffmpeg.
 * - `real`: the photos of realfaces/{deepface,dlib_johns,commons_lfw_broather}
 *   (read from `--realfaces` at run time, never copied), each fitted into the
 *   frame. They have no boxes: the table gives photos with a face found and
 *   the boxes beyond one per photo. deepface and dlib_johns photos show one
 *   person, so extras there are false; several commons_lfw_broather photos
 *   show groups. `--dump DIR` writes every frame as PNG with the native
 *   original's boxes in red and the server defaults' in green, to check.
 *
 * A truth box is found when an unused detection has its centre inside it or
 * IoU >= 0.3; other detections, except on "don't care" faces, are false
 * (`fp`). Times are median detect() ms per frame over all frames, then per
 * set, over `--runs` rounds with the settings interleaved frame by frame so
 * that load from other processes hits all alike; the native row is
 * single-threaded cv2 on the same frames, run after.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { Box, Image } from "../lib/images/image.ts";
import { encodePgm, encodePng, readImage } from "../lib/images/image_io.ts";
import {
  type DetectOptions,
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../lib/face/detector.ts";
import { type CV, loadOpenCV } from "../lib/face/opencv.ts";
import {
  blit,
  H,
  PHOTOS,
  prng,
  readSampleClip,
  resize,
  ROOT,
  W,
} from "./_common.ts";
import {
  centreInside,
  hits as countHits,
  iou,
  median,
  parseAnnotations,
  score,
} from "./_detection_score.ts";
const REAL_SETS = ["deepface", "dlib_johns", "commons_lfw_broather"];
const SMALL_FRAMES = 192;
const SMALL_SIZES = [30, 33, 36, 40, 44, 48, 53, 58, 64, 72, 80, 90];
const SMALL_BANDS: [number, number][] = [[30, 35], [35, 40], [40, 60], [
  60,
  91,
]];

/** A setting: one detect() call, or several whose boxes are merged. */
interface Candidate {
  name: string;
  passes: DetectOptions[];
}

const ORIGINAL: DetectOptions = {
  cascade: "alt",
  scaleFactor: 1.2,
  minNeighbors: 5,
};

/** The original's settings on a shrunk copy, or limited to sizes. */
function alt(options: DetectOptions): DetectOptions {
  return { ...ORIGINAL, ...options };
}

/** The server's defaults before this comparison. */
const PREVIOUS: DetectOptions = {
  cascade: "default",
  scaleFactor: 1.2,
  minNeighbors: 5,
  minSize: 60,
  maxWidth: 320,
};

const CANDIDATES: Candidate[] = [
  { name: "previous server", passes: [PREVIOUS] },
  { name: "original (WASM)", passes: [ORIGINAL] },
  {
    name: "default 1.1/5",
    passes: [{ cascade: "default", scaleFactor: 1.1, minNeighbors: 5 }],
  },
  { name: "alt 1.2/3 w480", passes: [alt({ maxWidth: 480, minNeighbors: 3 })] },
  {
    // Big faces on a shrunk copy, small ones at full size, boxes merged.
    name: "alt w320>=40 + full<40",
    passes: [alt({ maxWidth: 320, minSize: 40 }), alt({ maxSize: 40 })],
  },
  ...([[320, 3], [400, 2], [400, 4], [448, 3], [448, 4], [480, 4]] as const)
    .map(([w, n]) => ({
      name: `confirm w${w} /${n}`,
      passes: [alt({ maxWidth: w, minNeighbors: n, confirm: true })],
    })),
  {
    name: "confirm default w400 /3",
    passes: [{ ...SERVER_DETECT_OPTIONS, cascade: "default" }],
  },
  { name: "server (confirm w400 /3)", passes: [SERVER_DETECT_OPTIONS] },
];

/** One 640x480 grey frame and what is known about it. */
interface Frame {
  set: string;
  name: string;
  image: Image;
  /** Faces to find; undefined for `real` frames, which have no boxes. */
  truth?: Box[];
  /** Faces neither to find nor to count as false (background photos). */
  ignore?: Box[];
}

/** Boxes of several passes; a box whose centre is in a kept one is dropped. */
function merge(lists: Box[][]): Box[] {
  const kept: Box[] = [];
  for (const list of lists) {
    const add = list.filter((b) =>
      !kept.some((k) => centreInside(k, b) || centreInside(b, k))
    );
    kept.push(...add);
  }
  return kept;
}

function canvas(): Image {
  return {
    width: W,
    height: H,
    channels: 1,
    data: new Uint8Array(W * H).fill(128),
  };
}

function mirror(image: Image): Image {
  const out = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      out[y * image.width + x] =
        image.data[y * image.width + image.width - 1 - x];
    }
  }
  return { ...image, data: out };
}

function scaleBox(b: Box, s: number, dx: number, dy: number): Box {
  return {
    x: Math.round(b.x * s + dx),
    y: Math.round(b.y * s + dy),
    w: Math.round(b.w * s),
    h: Math.round(b.h * s),
  };
}

/** An image fitted (aspect kept) and centred in a 640x480 grey canvas. */
function fit(
  cv: CV,
  image: Image,
): { frame: Image; s: number; dx: number; dy: number } {
  const s = Math.min(1, W / image.width, H / image.height);
  const fitted = s === 1 ? image : resize(cv, image, {
    width: Math.round(image.width * s),
    height: Math.round(image.height * s),
  });
  const frame = canvas();
  const dx = (W - fitted.width) >> 1;
  const dy = (H - fitted.height) >> 1;
  blit(frame, fitted, { x: dx, y: dy });
  return { frame, s, dx, dy };
}

async function photoFrames(
  cv: CV,
): Promise<{ frames: Frame[]; photos: Map<string, [Image, Box[]]> }> {
  const frames: Frame[] = [];
  const photos = new Map<string, [Image, Box[]]>();
  for (const set of ["training", "testing"]) {
    const xml = await Deno.readTextFile(join(PHOTOS, `${set}.xml`));
    for (const [file, boxes] of parseAnnotations(xml)) {
      const pgm = file.replace(/\.jpg$/, ".pgm");
      const image = await readImage(join(PHOTOS, pgm));
      photos.set(pgm, [image, boxes]);
      const { frame, s, dx, dy } = fit(cv, image);
      frames.push({
        set: `photos ${set}`,
        name: pgm,
        image: frame,
        truth: boxes.map((b) => scaleBox(b, s, dx, dy)),
        ignore: [],
      });
    }
  }
  return { frames, photos };
}

/** Frames with ORL faces of known size pasted on real photos. */
async function smallFaceFrames(
  cv: CV,
  photos: Map<string, [Image, Box[]]>,
  orl: string,
): Promise<Frame[]> {
  const rand = prng(20240611);
  const names = [...photos.keys()].sort();
  const frames: Frame[] = [];
  let sizeIndex = 0;
  for (let i = 0; i < SMALL_FRAMES; i++) {
    const [photo, boxes] = photos.get(names[i % names.length])!;
    // Cover the frame, zoomed 1-1.6x, at a random crop, maybe mirrored: the
    // nine photos give varied backgrounds.
    const s = Math.max(W / photo.width, H / photo.height) *
      (1 + 0.6 * rand());
    const big = resize(cv, photo, {
      width: Math.ceil(photo.width * s),
      height: Math.ceil(photo.height * s),
    });
    const dx = Math.floor(rand() * (big.width - W + 1));
    const dy = Math.floor(rand() * (big.height - H + 1));
    let frame = canvas();
    for (let y = 0; y < H; y++) {
      frame.data.set(
        big.data.subarray(
          (y + dy) * big.width + dx,
          (y + dy) * big.width + dx + W,
        ),
        y * W,
      );
    }
    let ignore = boxes.map((b) => scaleBox(b, s, -dx, -dy));
    if (rand() < 0.5) {
      frame = mirror(frame);
      ignore = ignore.map((b) => ({ ...b, x: W - b.x - b.w }));
    }
    const truth: Box[] = [];
    for (let k = 0; k < 4; k++) {
      const side = SMALL_SIZES[sizeIndex++ % SMALL_SIZES.length];
      const h = Math.round(side * 112 / 92);
      let box: Box | undefined;
      for (let tries = 0; tries < 200 && box === undefined; tries++) {
        const b = {
          x: Math.floor(rand() * (W - side)),
          y: Math.floor(rand() * (H - h)),
          w: side,
          h,
        };
        const grown = (g: Box) => ({
          x: g.x - g.w / 2,
          y: g.y - g.h / 2,
          w: g.w * 2,
          h: g.h * 2,
        });
        const clash = [...truth, ...ignore].some((g) => iou(grown(g), b) > 0);
        if (!clash) box = b;
      }
      if (box === undefined) continue;
      const person = 1 + Math.floor(rand() * 40);
      const n = 1 + Math.floor(rand() * 10);
      const face = await readImage(join(orl, `s${person}`, `${n}.pgm`));
      blit(frame, resize(cv, face, { width: box.w, height: box.h }), box);
      truth.push(box);
    }
    frames.push({
      set: "small",
      name: `small_${i}`,
      image: frame,
      truth,
      ignore,
    });
  }
  return frames;
}

async function clipFrames(): Promise<Frame[]> {
  const { pixels, frameBytes, truth } = await readSampleClip();
  const frames: Frame[] = [];
  for (let f = 0; f < truth.length; f += 3) {
    const data = pixels.slice(f * frameBytes, (f + 1) * frameBytes);
    if (data.length < frameBytes) break;
    frames.push({
      set: "clip",
      name: `clip_${f}`,
      image: { width: W, height: H, channels: 1, data },
      truth: truth[f].faces.map(({ x, y, w, h }) => ({ x, y, w, h })),
      ignore: [],
    });
  }
  return frames;
}

async function realFrames(cv: CV, dir: string): Promise<Frame[]> {
  const frames: Frame[] = [];
  for (const set of REAL_SETS) {
    const people = [...Deno.readDirSync(join(dir, set))]
      .filter((e) => e.isDirectory && !e.name.startsWith("_"))
      .map((e) => e.name).sort();
    for (const person of people) {
      const files = [...Deno.readDirSync(join(dir, set, person))]
        .filter((e) => e.isFile && /\.(jpe?g|png)$/i.test(e.name))
        .map((e) => e.name).sort();
      for (const file of files) {
        let image: Image;
        try {
          image = await readImage(join(dir, set, person, file), {
            grey: true,
          });
        } catch (err) {
          // One WebP named .jpg: lib/images does not decode WebP.
          console.log(`skipped: ${err instanceof Error ? err.message : err}`);
          continue;
        }
        frames.push({
          set: `real ${set}`,
          name: `${set}/${person}/${file}`,
          image: fit(cv, image).frame,
        });
      }
    }
  }
  return frames;
}

/** Native cv2 with the original's settings on every frame (PGMs in `dir`). */
async function native(
  frames: Frame[],
  dir: string,
  runs: number,
): Promise<{ boxes: Box[][]; ms: number[] }> {
  frames.forEach((f, i) =>
    Deno.writeFileSync(join(dir, `${i}.pgm`), encodePgm(f.image))
  );
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [
      join(ROOT, "tools/oracle_detect.py"),
      "--frames",
      dir,
      "--cascade",
      "alt",
      "--scale-factor",
      String(ORIGINAL.scaleFactor),
      "--min-neighbors",
      String(ORIGINAL.minNeighbors),
      "--runs",
      String(runs),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error("tools/oracle_detect.py --frames failed");
  const result: {
    boxes: Record<string, number[][]>;
    ms: Record<string, number[]>;
  } = JSON.parse(
    new TextDecoder().decode(out.stdout),
  );
  return {
    boxes: frames.map((_, i) =>
      result.boxes[`${i}.pgm`].map(([x, y, w, h]) => ({ x, y, w, h }))
    ),
    // Run-major like the WASM times.
    ms: result.ms["0.pgm"].flatMap((_, r) =>
      frames.map((_, i) => result.ms[`${i}.pgm`][r])
    ),
  };
}

function sortedKey(boxes: Box[]): string {
  return JSON.stringify(
    boxes.map((b) => [b.x, b.y, b.w, b.h]).sort((a, b) =>
      a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]
    ),
  );
}

/** One table row's cells from every frame's boxes. */
function cells(frames: Frame[], found: Box[][]): Record<string, string> {
  const row: Record<string, string> = {};
  const sets = [...new Set(frames.map((f) => f.set))];
  for (const set of sets) {
    const idx = frames.flatMap((f, i) => f.set === set ? [i] : []);
    if (set.startsWith("real")) {
      let withFace = 0, extra = 0;
      for (const i of idx) {
        if (found[i].length > 0) withFace++;
        extra += Math.max(0, found[i].length - 1);
      }
      row[set] = `${withFace}/${idx.length} +${extra}`;
      continue;
    }
    let hits = 0, truth = 0, fp = 0;
    const bands = SMALL_BANDS.map(() => [0, 0]);
    for (const i of idx) {
      const f = frames[i];
      const r = score(f.truth!, found[i], { ignore: f.ignore });
      r.hit.forEach((h, k) => {
        const side = f.truth![k].w;
        const band = SMALL_BANDS.findIndex(([lo, hi]) =>
          side >= lo && side < hi
        );
        if (band >= 0) {
          bands[band][1]++;
          if (h) bands[band][0]++;
        }
      });
      hits += countHits(r.hit);
      truth += f.truth!.length;
      fp += r.fp;
    }
    row[set] = `${hits}/${truth} fp${fp}`;
    if (set === "small") {
      row[set] = bands.map(([h, t]) => `${h}/${t}`).join(" ") + ` fp${fp}`;
    }
  }
  return row;
}

/** Median ms over all frames, then per set (photos, small, clip, real). */
function msCell(frames: Frame[], times: number[]): string {
  const n = frames.length;
  const of = (prefix: string) =>
    median(times.filter((_, i) => frames[i % n].set.startsWith(prefix)));
  return [median(times), ...["photos", "small", "clip", "real"].map(of)]
    .map((v) => v.toFixed(1)).join(" ");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      only: { type: "string" },
      orl: { type: "string", default: "/work/shared/data/orl" },
      realfaces: { type: "string", default: "/work/shared/data/realfaces" },
      dump: { type: "string" },
    },
  });
  const runs = Number(values.runs);
  const cv = await loadOpenCV();
  const { frames: photoSet, photos } = await photoFrames(cv);
  const frames: Frame[] = [
    ...photoSet,
    ...await smallFaceFrames(cv, photos, values.orl!),
    ...await clipFrames(),
    ...await realFrames(cv, values.realfaces!),
  ];
  const only = values.only?.split(",");
  const candidates = CANDIDATES.filter((c) =>
    only === undefined || only.some((o) => c.name.includes(o))
  );
  const detector = await FaceDetector.create();
  const found = candidates.map(() => [] as Box[][]);
  const times = candidates.map(() => [] as number[]);
  for (let r = 0; r < runs; r++) {
    frames.forEach((f, i) => {
      candidates.forEach((c, k) => {
        const t = performance.now();
        const boxes = merge(c.passes.map((p) => detector.detect(f.image, p)));
        times[k].push(performance.now() - t);
        found[k][i] = boxes;
      });
    });
  }
  detector.close();
  const tmp = await Deno.makeTempDir({ prefix: "eval_detect_" });
  let nat: { boxes: Box[][]; ms: number[] };
  try {
    nat = await native(frames, tmp, runs);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }

  const rows: [string, Record<string, string>, string][] = [
    ["native original (cv2)", cells(frames, nat.boxes), msCell(frames, nat.ms)],
    ...candidates.map((c, k): [string, Record<string, string>, string] => [
      c.name,
      cells(frames, found[k]),
      msCell(frames, times[k]),
    ]),
  ];
  const columns = Object.keys(rows[0][1]);
  console.log(
    `${frames.length} frames 640x480; small bands ${
      SMALL_BANDS.map(([a, b]) => `${a}-${b - 1}px`).join(" ")
    }; real: photos with a face / boxes beyond one a photo`,
  );
  const width = (c: string) =>
    Math.max(c.length, ...rows.map((r) => r[1][c].length)) + 2;
  console.log(
    "setting".padEnd(24) + columns.map((c) => c.padEnd(width(c))).join("") +
      "ms: all photos small clip real",
  );
  for (const [name, row, ms] of rows) {
    console.log(
      name.padEnd(24) + columns.map((c) => row[c].padEnd(width(c))).join("") +
        ms,
    );
  }
  const k = candidates.findIndex((c) => c.name.startsWith("original"));
  const shown = candidates.findIndex((c) => c.name.startsWith("server"));
  if (k >= 0) {
    const differ = frames.filter((_, i) =>
      sortedKey(found[k][i]) !== sortedKey(nat.boxes[i])
    ).length;
    console.log(
      `WASM vs native boxes, original settings: ${differ} frames differ`,
    );
  }
  if (values.dump) {
    await Deno.mkdir(values.dump, { recursive: true });
    frames.forEach((f, i) => {
      const rgb = new Uint8Array(W * H * 3);
      for (let p = 0; p < W * H; p++) {
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = f.image.data[p];
      }
      const draw = (b: Box, c: number[]) => {
        for (let x = b.x; x < b.x + b.w; x++) {
          for (const y of [b.y, b.y + b.h - 1]) set(x, y, c);
        }
        for (let y = b.y; y < b.y + b.h; y++) {
          for (const x of [b.x, b.x + b.w - 1]) set(x, y, c);
        }
      };
      const set = (x: number, y: number, c: number[]) => {
        if (x < 0 || y < 0 || x >= W || y >= H) return;
        rgb.set(c, 3 * (y * W + x));
      };
      nat.boxes[i].forEach((b) => draw(b, [255, 0, 0]));
      (found[shown] ?? found[found.length - 1])[i].forEach((b) =>
        draw({ x: b.x + 1, y: b.y + 1, w: b.w - 2, h: b.h - 2 }, [0, 255, 0])
      );
      const name = `${i}_${f.name.replace(/[^\w.-]+/g, "_")}.png`;
      Deno.writeFileSync(
        join(values.dump!, name),
        encodePng({ width: W, height: H, channels: 3, data: rgb }),
      );
    });
  }
}

if (import.meta.main) {
  await main();
}
