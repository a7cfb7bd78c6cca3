/**
 * Makes the bundled sample data from the ORL face database (AT&T
 * Laboratories Cambridge / Olivetti Research Laboratory):
 *
 * - `train/s1` .. `train/s4`: images 1-5 of ORL people s1-s4 (PGM as is);
 * - `samples/sample.mp4` + `samples/sample_truth.json`: 640x480, 30 fps,
 *   300 frames, H.264 yuv420p; faces from ORL images 6-10 of s1-s4 and of s5
 *   (not in train/, so it must come out as `unknown`);
 * - `tests/fixtures/clip/clip.mp4` + `clip_truth.json`: 60 frames, same
 *   generator, another seed and timeline.
 *
 * Run from the repository root:
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run tools/make_sample.ts [--orl /work/shared/data/orl]
 * ```
 *
 * The output is deterministic (seeded PRNG, bit-exact ffmpeg flags).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { openRecorder } from "../lib/video/output.ts";

/** ORL people copied to train/. */
const TRAIN = ["s1", "s2", "s3", "s4"];
/** ORL people shown in the clips but not trained: expected as `unknown`. */
const UNKNOWN = ["s5"];
const WIDTH = 640;
const HEIGHT = 480;
const FPS = 30;
const CREDIT =
  "Faces from the ORL database of faces, AT&T Laboratories Cambridge / Olivetti Research Laboratory";

/** A grey image read from a PGM file. */
interface Grey {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Reads a binary (P5) 8-bit PGM file. */
function readPgm(path: string): Grey {
  const bytes = Deno.readFileSync(path);
  const fields: string[] = [];
  let i = 0;
  while (fields.length < 4) {
    while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]))) i++;
    if (bytes[i] === 0x23) { // comment
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
      continue;
    }
    let token = "";
    while (i < bytes.length && !/\s/.test(String.fromCharCode(bytes[i]))) {
      token += String.fromCharCode(bytes[i++]);
    }
    fields.push(token);
  }
  i++; // the single whitespace after maxval
  const [magic, w, h, max] = fields;
  if (magic !== "P5" || max !== "255") {
    throw new Error(`${path}: not an 8-bit binary PGM (P5, maxval 255)`);
  }
  const width = Number(w);
  const height = Number(h);
  return { width, height, data: bytes.slice(i, i + width * height) };
}

/** mulberry32: a small seeded PRNG giving floats in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return function () {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A soft diagonal colour gradient with mild static noise, RGB. */
function makeBackground(seed: number): Uint8Array {
  const rand = prng(seed);
  const out = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const u = x / WIDTH;
      const v = y / HEIGHT;
      const noise = (rand() - 0.5) * 10;
      const j = (y * WIDTH + x) * 3;
      out[j] = clamp(150 + 50 * u - 30 * v + noise);
      out[j + 1] = clamp(140 + 20 * u + 20 * v + noise);
      out[j + 2] = clamp(120 - 30 * u + 50 * v + noise);
    }
  }
  return out;
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Pastes `src` scaled to w x h (bilinear) at (x, y) as grey RGB pixels. */
function paste(
  frame: Uint8Array,
  src: Grey,
  box: { x: number; y: number; w: number; h: number },
): void {
  const sx = src.width / box.w;
  const sy = src.height / box.h;
  for (let j = 0; j < box.h; j++) {
    const fy = Math.min(Math.max((j + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, src.height - 1);
    const ay = fy - y0;
    for (let i = 0; i < box.w; i++) {
      const fx = Math.min(Math.max((i + 0.5) * sx - 0.5, 0), src.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, src.width - 1);
      const ax = fx - x0;
      const d = src.data;
      const top = d[y0 * src.width + x0] * (1 - ax) +
        d[y0 * src.width + x1] * ax;
      const bot = d[y1 * src.width + x0] * (1 - ax) +
        d[y1 * src.width + x1] * ax;
      const g = clamp(top * (1 - ay) + bot * ay);
      const k = ((box.y + j) * WIDTH + box.x + i) * 3;
      frame[k] = g;
      frame[k + 1] = g;
      frame[k + 2] = g;
    }
  }
}

/** A keyframe of a face's path: centre and scale of the 92x112 ORL image. */
interface Key {
  f: number;
  cx: number;
  cy: number;
  s: number;
}

/** One person on screen from the first to the last key's frame. */
interface Track {
  person: string;
  keys: Key[];
}

/** Smoothly interpolates a track's keys at frame f (smoothstep easing). */
function placeAt(
  keys: Key[],
  f: number,
): { cx: number; cy: number; s: number } {
  let k = 0;
  while (k < keys.length - 2 && f > keys[k + 1].f) k++;
  const a = keys[k];
  const b = keys[k + 1];
  const t = b.f === a.f ? 0 : (f - a.f) / (b.f - a.f);
  const e = t * t * (3 - 2 * t);
  return {
    cx: a.cx + (b.cx - a.cx) * e,
    cy: a.cy + (b.cy - a.cy) * e,
    s: a.s + (b.s - a.s) * e,
  };
}

/** The ground truth of one face in one frame. */
interface TruthFace {
  name: string;
  x: number;
  y: number;
  w: number;
  h: number;
  person: string;
  image: number;
}

/** Renders a clip and returns its truth; checks boxes stay inside and apart. */
async function makeClip(
  path: string,
  truthPath: string,
  options: { orl: string; frames: number; seed: number; tracks: Track[] },
): Promise<void> {
  const background = makeBackground(options.seed);
  const rand = prng(options.seed + 1);
  // Each track starts at a seeded image among 6-10 and changes every 18 frames.
  const firstImage = options.tracks.map(() => Math.floor(rand() * 5));
  const images = new Map<string, Grey>();
  function image(person: string, n: number): Grey {
    const key = `${person}/${n}`;
    let img = images.get(key);
    if (!img) {
      img = readPgm(`${options.orl}/${person}/${n}.pgm`);
      images.set(key, img);
    }
    return img;
  }
  const recorder = openRecorder(path, {
    width: WIDTH,
    height: HEIGHT,
    fps: FPS,
    fragmented: false,
    crf: 26,
    preset: "slow",
    extraArgs: [
      "-fflags",
      "+bitexact",
      "-flags:v",
      "+bitexact",
      "-map_metadata",
      "-1",
    ],
  });
  const truth: { frame: number; faces: TruthFace[] }[] = [];
  const frame = new Uint8Array(WIDTH * HEIGHT * 3);
  for (let f = 0; f < options.frames; f++) {
    frame.set(background);
    const faces: TruthFace[] = [];
    options.tracks.forEach((track, t) => {
      const first = track.keys[0].f;
      const last = track.keys[track.keys.length - 1].f;
      if (f < first || f > last) return;
      const p = placeAt(track.keys, f);
      const w = Math.round(92 * p.s);
      const h = Math.round(112 * p.s);
      const x = Math.round(p.cx - w / 2);
      const y = Math.round(p.cy - h / 2);
      if (x < 0 || y < 0 || x + w > WIDTH || y + h > HEIGHT) {
        throw new Error(`${track.person} leaves the frame at ${f}`);
      }
      const n = 6 + (firstImage[t] + Math.floor((f - first) / 18)) % 5;
      paste(frame, image(track.person, n), { x, y, w, h });
      const name = TRAIN.includes(track.person) ? track.person : "unknown";
      faces.push({ name, x, y, w, h, person: track.person, image: n });
    });
    for (let a = 0; a < faces.length; a++) {
      for (let b = a + 1; b < faces.length; b++) {
        const A = faces[a];
        const B = faces[b];
        if (
          A.x < B.x + B.w && B.x < A.x + A.w && A.y < B.y + B.h &&
          B.y < A.y + A.h
        ) {
          throw new Error(`${A.person} and ${B.person} overlap at frame ${f}`);
        }
      }
    }
    truth.push({ frame: f, faces });
    await recorder.write(frame);
  }
  await recorder.close();
  const lines = truth.map((t) => "  " + JSON.stringify(t));
  Deno.writeTextFileSync(truthPath, "[\n" + lines.join(",\n") + "\n]\n");
  console.log(
    `wrote ${path} (${Deno.statSync(path).size} bytes) and ${truthPath}`,
  );
}

/** The 10 s sample: empty, s1, s1+s2, empty, s3 turning into s5, s5+s4, empty. */
const SAMPLE_TRACKS: Track[] = [
  {
    person: "s1",
    keys: [
      { f: 20, cx: 150, cy: 250, s: 1.6 },
      { f: 80, cx: 260, cy: 220, s: 2.2 },
      { f: 149, cx: 180, cy: 250, s: 2.0 },
    ],
  },
  {
    person: "s2",
    keys: [
      { f: 90, cx: 520, cy: 230, s: 1.7 },
      { f: 130, cx: 470, cy: 250, s: 2.1 },
      { f: 164, cx: 430, cy: 240, s: 1.8 },
    ],
  },
  {
    person: "s3",
    keys: [
      { f: 180, cx: 320, cy: 250, s: 1.8 },
      { f: 224, cx: 300, cy: 235, s: 2.6 },
    ],
  },
  {
    person: "s5",
    keys: [
      { f: 225, cx: 300, cy: 235, s: 2.6 },
      { f: 250, cx: 170, cy: 245, s: 2.1 },
      { f: 284, cx: 150, cy: 235, s: 1.9 },
    ],
  },
  {
    person: "s4",
    keys: [
      { f: 252, cx: 500, cy: 240, s: 1.7 },
      { f: 284, cx: 470, cy: 230, s: 2.1 },
    ],
  },
];

/** The 2 s test clip: empty, s2, s2+s5, s2 turning into s1 beside s5, empty. */
const CLIP_TRACKS: Track[] = [
  {
    person: "s2",
    keys: [
      { f: 8, cx: 180, cy: 240, s: 1.7 },
      { f: 31, cx: 220, cy: 230, s: 2.0 },
    ],
  },
  {
    person: "s1",
    keys: [
      { f: 32, cx: 220, cy: 230, s: 2.0 },
      { f: 51, cx: 200, cy: 245, s: 2.3 },
    ],
  },
  {
    person: "s5",
    keys: [
      { f: 20, cx: 470, cy: 250, s: 1.8 },
      { f: 51, cx: 450, cy: 235, s: 2.2 },
    ],
  },
];

const TRAIN_README = `# Sample people

These folders hold the people the recognizer is trained on by default:
one folder per person, named after the person, holding their photos.

The four people here (\`s1\` .. \`s4\`) are images 1-5 of the subjects of the
same name in the ORL database of faces: 92x112 grey PGM photos.
Credit: AT&T Laboratories Cambridge / Olivetti Research Laboratory
("The Database of Faces", formerly "The ORL Database of Faces").

Images 6-10 of these people, and of \`s5\` (who is NOT here and so must be
recognized as \`unknown\`), appear in \`samples/sample.mp4\`
(truth: \`samples/sample_truth.json\`). \`tools/make_sample.ts\` made all of them.

## Use your own people

Replace these folders with your own: \`train/<name>/<photos>\`, e.g.
\`train/alice/1.jpg\`, \`train/alice/2.jpg\`, \`train/bob/1.png\`. The folder
name is the name the recognizer reports. Use several photos per person (5 or
more), each showing one face, front on, in varied light. Then train again.
`;

const SAMPLES_README = `# Sample clip

\`sample.mp4\`: 640x480, 30 fps, 300 frames (10 s), H.264 yuv420p, composited by
\`tools/make_sample.ts\` from ORL faces (images 6-10, not the training images)
of the people in \`train/\` (s1..s4) and of s5, who is not trained and must come
out as \`unknown\`. Faces move and change size smoothly; some frames have
two faces, one person turns into another, and some frames have none.

\`sample_truth.json\`: one entry per frame, \`{ frame, faces: [{ name, x, y, w,
h, person, image }] }\`: \`name\` is the expected answer (\`s1\`..\`s4\` or
\`unknown\`), the box is where the 92x112 ORL image was placed (scaled),
\`person\`/\`image\` name the ORL file used.

${CREDIT}.
`;

const CLIP_README = `# Test clip

\`clip.mp4\` (640x480, 30 fps, 60 frames, H.264) and \`clip_truth.json\` (same
format as \`samples/sample_truth.json\`), made by \`tools/make_sample.ts\`.
${CREDIT}.
`;

/** Copies train images and writes both clips. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { orl: { type: "string", default: "/work/shared/data/orl" } },
  });
  const orl = values.orl as string;
  try {
    Deno.statSync(`${orl}/s1/1.pgm`);
  } catch {
    console.error(
      `ORL faces not found in ${orl} (expected ${orl}/s1/1.pgm); pass --orl DIR.`,
    );
    Deno.exit(1);
  }
  for (const person of TRAIN) {
    Deno.mkdirSync(`train/${person}`, { recursive: true });
    for (let n = 1; n <= 5; n++) {
      Deno.copyFileSync(
        `${orl}/${person}/${n}.pgm`,
        `train/${person}/${n}.pgm`,
      );
    }
  }
  Deno.writeTextFileSync("train/README.md", TRAIN_README);
  Deno.mkdirSync("samples", { recursive: true });
  Deno.writeTextFileSync("samples/README.md", SAMPLES_README);
  await makeClip("samples/sample.mp4", "samples/sample_truth.json", {
    orl,
    frames: 300,
    seed: 1,
    tracks: SAMPLE_TRACKS,
  });
  Deno.mkdirSync("tests/fixtures/clip", { recursive: true });
  Deno.writeTextFileSync("tests/fixtures/clip/README.md", CLIP_README);
  await makeClip(
    "tests/fixtures/clip/clip.mp4",
    "tests/fixtures/clip/clip_truth.json",
    {
      orl,
      frames: 60,
      seed: 2,
      tracks: CLIP_TRACKS,
    },
  );
  console.log(`UNKNOWN people in clips: ${UNKNOWN.join(", ")}`);
}

if (import.meta.main) {
  await main();
}
