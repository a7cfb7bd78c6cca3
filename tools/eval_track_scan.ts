/**
 * What searching only around the client's tracks between full scans costs
 * in faces found, and saves in detection time, against a full scan of
 * every frame: the client's rules (lib/tracking/tracker.ts, `fullScan`)
 * and the server's two searches (lib/face/detector.ts `detect` with the
 * server's defaults, `detectNear` around the hints), with the server's
 * matching of faces to hints, frame after frame as a session runs them.
 *
 *     deno run -A tools/eval_track_scan.ts [--runs N] [--lag N] [--orl DIR]
 *       [--full-every SECONDS] [--verbose]
 *
 * Sequences, 640x480 grey at 30 fps:
 *
 * - `clip`: every frame of samples/sample.mp4 (faces of ~70-180 px, truth
 *   in samples/sample_truth.json).
 * - `moving`: 300 frames made here, deterministically: two detection
 *   photos (tests/fixtures/detection) as backgrounds, 150 frames each, with
 *   four ORL faces (from `--orl`) of 30 to 90 px crossing each, at 1 to 8
 *   px a frame with a wobble, growing or shrinking by up to a quarter,
 *   coming and going at different frames. The photos' own faces are "don't
 *   care" regions.
 *
 * `--lag` is how many frames the client is ahead of its answers: 2 (the
 * session's default of 2 frames in flight: a frame's hints are made before
 * the previous frame's answer is in) or 1. A truth face is found when an
 * unused detection has its centre inside it or IoU >= 0.3; other
 * detections, except on "don't care" faces, are false. ms: detection per
 * frame, mean and median of the frames' medians over `--runs` rounds, both
 * schemes interleaved frame by frame so that load from other processes
 * hits both alike. `--full-every` changes the tracker's `fullScanSeconds`
 * (0.16); `--verbose` prints each frame of the tracks scheme: full or
 * near, truth faces found, hint, found and truth boxes.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { Box, Image } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import { FaceDetector, SERVER_DETECT_OPTIONS } from "../lib/face/detector.ts";
import { type CV, loadOpenCV } from "../lib/face/opencv.ts";
import type { ReplyFace } from "../lib/protocol/binary.ts";
import { matchBoxes } from "../lib/tracking/boxes.ts";
import { SceneWatch } from "../lib/tracking/scene.ts";
import { Tracker } from "../lib/tracking/tracker.ts";
import { blit, H, PHOTOS, prng, readSampleClip, resize, W } from "./_common.ts";
import {
  hits as countHits,
  median,
  parseAnnotations,
  score as scoreBoxes,
} from "./_detection_score.ts";

const FPS = 30;

interface Frame {
  image: Image;
  truth: Box[];
  ignore: Box[];
}

interface Sequence {
  name: string;
  frames: Frame[];
}

/** Truth faces found and false detections in one frame. */
function score(frame: Frame, found: Box[]): { hits: number; fp: number } {
  const s = scoreBoxes(frame.truth, found, { ignore: frame.ignore });
  return { hits: countHits(s.hit), fp: s.fp };
}

async function clipSequence(): Promise<Sequence> {
  const { pixels, frameBytes, truth } = await readSampleClip();
  const frames: Frame[] = [];
  for (const entry of truth) {
    const data = pixels.slice(
      entry.frame * frameBytes,
      (entry.frame + 1) * frameBytes,
    );
    if (data.length < frameBytes) break;
    frames.push({
      image: { width: W, height: H, channels: 1, data },
      truth: entry.faces.map(({ x, y, w, h }) => ({ x, y, w, h })),
      ignore: [],
    });
  }
  return { name: "clip", frames };
}

/** A face's path through a sequence. */
interface Walker {
  face: Image;
  from: number;
  to: number;
  x0: number;
  y0: number;
  vx: number;
  vy: number;
  size0: number;
  size1: number;
  wobble: number;
  phase: number;
}

async function movingSequence(cv: CV, orl: string): Promise<Sequence> {
  const rand = prng(20240612);
  const annotations = new Map<string, Box[]>();
  for (const set of ["training", "testing"]) {
    const xml = await Deno.readTextFile(join(PHOTOS, `${set}.xml`));
    for (const [k, v] of parseAnnotations(xml)) {
      annotations.set(k.replace(/\.jpg$/, ".pgm"), v);
    }
  }
  const backgrounds = ["2008_001322.pgm", "2009_004587.pgm"];
  const frames: Frame[] = [];
  const part = 150;
  const speeds = [1, 2, 4, 8];
  const sizes = [30, 40, 60, 90];
  for (const [b, name] of backgrounds.entries()) {
    const photo = await readImage(join(PHOTOS, name));
    const s = Math.max(W / photo.width, H / photo.height);
    const big = resize(cv, photo, {
      width: Math.ceil(photo.width * s),
      height: Math.ceil(photo.height * s),
    });
    const back: Image = {
      width: W,
      height: H,
      channels: 1,
      data: new Uint8Array(W * H),
    };
    for (let y = 0; y < H; y++) {
      back.data.set(big.data.subarray(y * big.width, y * big.width + W), y * W);
    }
    const ignore = (annotations.get(name) ?? []).map((g) => ({
      x: Math.round(g.x * s),
      y: Math.round(g.y * s),
      w: Math.round(g.w * s),
      h: Math.round(g.h * s),
    })).filter((g) => g.x < W && g.y < H);
    const walkers: Walker[] = [];
    for (let k = 0; k < 4; k++) {
      // Each face in its own band, so that none hides another.
      const size0 = sizes[(k + b) % sizes.length];
      const size1 = Math.round(size0 * (0.8 + 0.45 * rand()));
      const speed = speeds[(k + 2 * b) % speeds.length];
      const from = k === 0 ? 0 : Math.floor(rand() * 60);
      const to = part - (k === 1 ? 0 : Math.floor(rand() * 50));
      const dir = rand() < 0.5 ? 1 : -1;
      const travel = speed * (to - from);
      const x0 = dir > 0
        ? Math.max(0, Math.floor(rand() * (W - 90 - Math.min(travel, W - 90))))
        : Math.min(
          W - 90,
          Math.floor(90 + Math.min(travel, W - 180) + rand() * 100),
        );
      const person = 1 + Math.floor(rand() * 40);
      const n = 1 + Math.floor(rand() * 10);
      walkers.push({
        face: await readImage(join(orl, `s${person}`, `${n}.pgm`)),
        from,
        to,
        x0,
        y0: k * 120 + 5,
        vx: dir * speed,
        vy: (rand() - 0.5) * 0.3,
        size0,
        size1,
        wobble: 3 + 6 * rand(),
        phase: rand() * 6.28,
      });
    }
    for (let f = 0; f < part; f++) {
      const image: Image = { ...back, data: back.data.slice() };
      const truth: Box[] = [];
      for (const walker of walkers) {
        if (f < walker.from || f >= walker.to) continue;
        const t = (f - walker.from) / Math.max(1, part - walker.from);
        const w = Math.round(walker.size0 + (walker.size1 - walker.size0) * t);
        const h = Math.round(w * 112 / 92);
        // Bounce off the frame's sides.
        let x = walker.x0 + walker.vx * (f - walker.from);
        const span = W - w;
        x = ((x % (2 * span)) + 2 * span) % (2 * span);
        if (x > span) x = 2 * span - x;
        const y = walker.y0 + walker.vy * (f - walker.from) +
          walker.wobble * Math.sin(walker.phase + f / 6);
        const box = {
          x: Math.round(x),
          y: Math.max(0, Math.min(H - h, Math.round(y))),
          w,
          h,
        };
        blit(image, resize(cv, walker.face, { width: w, height: h }), box);
        truth.push(box);
      }
      frames.push({ image, truth, ignore });
    }
  }
  return { name: "moving", frames };
}

interface Scheme {
  name: string;
  /** False: a full scan of every frame. */
  tracks: boolean;
  /** Also a full scan when the picture changed away from the tracks. */
  scene?: boolean;
  /** The server searches the whole frame when a hint finds no face. */
  escalate?: boolean;
}

interface SchemeState {
  tracker: Tracker;
  scene: SceneWatch;
  pending: {
    faces: ReplyFace[];
    time: number;
    tracksOnly: boolean;
    image: Image;
  }[];
  found: Box[][];
  ms: number[][];
  full: number;
  /** Frames searched whole: asked for, or when a hint found no face. */
  whole: number;
}

/** One frame as the session and the server would do it. */
function step(
  detector: FaceDetector,
  state: SchemeState,
  scheme: Scheme,
  frame: Frame,
  at: { index: number; lag: number; verbose: boolean },
): void {
  const time = at.index / FPS;
  const full = !scheme.tracks || state.tracker.fullScan(time, {
    changedAway: scheme.scene
      ? (boxes) => state.scene.changedAway(frame.image, boxes)
      : undefined,
  });

  const hints = state.tracker.hints(time, { fullScan: full });
  const t = performance.now();
  let boxes = full
    ? detector.detect(frame.image, SERVER_DETECT_OPTIONS)
    : detector.detectNear(frame.image, hints, SERVER_DETECT_OPTIONS);
  // The server's rule (lib/server/frame_handler.ts): a hint without its
  // face makes it search the whole frame.
  let whole = full;
  if (!full && scheme.escalate) {
    const near = matchBoxes(boxes, hints);
    if (hints.some((_, j) => !near.includes(j))) {
      boxes = detector.detect(frame.image, SERVER_DETECT_OPTIONS);
      whole = true;
    }
  }
  if (whole) state.whole++;
  (state.ms[at.index] ??= []).push(performance.now() - t);
  if (at.verbose && scheme.scene) {
    const s = score(frame, boxes);
    console.log(
      at.index,
      full ? "FULL" : "near",
      `${s.hits}/${frame.truth.length}`,
      JSON.stringify(hints.map((h) => [h.x, h.y, h.w])),
      JSON.stringify(boxes.map((h) => [h.x, h.y, h.w])),
      JSON.stringify(frame.truth.map((h) => [h.x, h.y, h.w])),
    );
  }
  if (full) state.full++;
  state.found[at.index] = boxes;
  const match = matchBoxes(boxes, hints);
  const faces: ReplyFace[] = boxes.map((b, i) => ({
    ...b,
    label: "someone",
    distance: 0,
    track: match[i] >= 0 ? hints[match[i]].track : 0,
    recognised: true,
  }));
  state.pending.push({ faces, time, tracksOnly: !full, image: frame.image });
  while (state.pending.length >= at.lag) {
    const answer = state.pending.shift()!;
    state.tracker.update(answer.faces, { time: answer.time });
    // The tracks now hold what this full scan found.
    if (!answer.tracksOnly) state.scene.scanned(answer.image);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "3" },
      lag: { type: "string", default: "2" },
      orl: { type: "string", default: "/work/shared/data/orl" },
      "full-every": { type: "string" },
      verbose: { type: "boolean" },
    },
  });
  const rules = values["full-every"] === undefined
    ? {}
    : { fullScanSeconds: Number(values["full-every"]) };
  const runs = Number(values.runs);
  const lag = Number(values.lag);
  const cv = await loadOpenCV();
  const sequences = [
    await clipSequence(),
    await movingSequence(cv, values.orl!),
  ];
  const schemes: Scheme[] = [
    { name: "full scan every frame", tracks: false },
    { name: "tracks between full scans", tracks: true },
    { name: "same, and on scene changes", tracks: true, scene: true },
    { name: "tracks, whole if a hint misses", tracks: true, escalate: true },
    {
      name: "same, whole if a hint misses",
      tracks: true,
      scene: true,
      escalate: true,
    },
  ];
  const detector = await FaceDetector.create(SERVER_DETECT_OPTIONS);
  console.log(
    `lag ${lag} (frames in flight), ${runs} runs; ms: detection per frame`,
  );
  console.log(
    "sequence  scheme                        faces found      false  whole       ms mean  ms median",
  );
  for (const sequence of sequences) {
    const states = schemes.map((): SchemeState => ({
      tracker: new Tracker({ rules }),
      scene: new SceneWatch(),
      pending: [],
      found: [],
      ms: [],
      full: 0,
      whole: 0,
    }));
    for (let r = 0; r < runs; r++) {
      for (const state of states) {
        state.tracker = new Tracker({ rules });
        state.scene = new SceneWatch();
        state.pending = [];
        state.full = 0;
        state.whole = 0;
      }
      sequence.frames.forEach((frame, index) => {
        schemes.forEach((scheme, k) =>
          step(detector, states[k], scheme, frame, {
            index,
            lag,
            verbose: values.verbose === true,
          })
        );
      });
    }
    schemes.forEach((scheme, k) => {
      const state = states[k];
      let hits = 0;
      let truths = 0;
      let fp = 0;
      sequence.frames.forEach((frame, i) => {
        const s = score(frame, state.found[i]);
        hits += s.hits;
        fp += s.fp;
        truths += frame.truth.length;
      });
      const perFrame = state.ms.map(median);
      const mean = perFrame.reduce((a, b) => a + b, 0) / perFrame.length;
      console.log(
        sequence.name.padEnd(10) + scheme.name.padEnd(30) +
          `${hits}/${truths} (${(100 * hits / truths).toFixed(1)}%)`.padEnd(
            17,
          ) +
          String(fp).padEnd(7) +
          `${state.full}+${state.whole - state.full}/${sequence.frames.length}`
            .padEnd(12) +
          mean.toFixed(2).padEnd(9) + median(perFrame).toFixed(2),
      );
    });
  }
  detector.close();
}

if (import.meta.main) {
  await main();
}
