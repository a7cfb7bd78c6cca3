/**
 * What the resnet recogniser costs per face, stage by stage, and what its
 * networks cost in memory: the faces of samples/sample.mp4 (its truth boxes,
 * the Haar box of those faces being about the same), each described as
 * lib/face/resnet.ts describes it:
 *
 * - landmarks: the 112x112 crop of the box and the landmark net
 *   (lib/face/landmarks.ts `detectLandmarks`);
 * - alignment: the similarity fit to dlib's mean face, the 150x150 chip
 *   sampled from the frame, and the shape check (lib/face/align.ts);
 * - descriptor: the ResNet on the chip.
 *
 *     deno run -A tools/eval_resnet_cost.ts [--faces N] [--rgb]
 *
 * Prints the first call of each network in this thread (what a worker
 * thread pays once, unless it is warmed up at start), then mean, median and
 * 95th percentile ms of the stages over `--faces` faces (default 100), and
 * the process's resident memory before and after loading the networks.
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Box, Image } from "../lib/images/image.ts";
import {
  DESCRIPTOR_CHIP,
  extractChip,
  faceChipMapping,
  fitMeanShape,
} from "../lib/face/align.ts";
import { detectLandmarks } from "../lib/face/landmarks.ts";
import { loadFaceNets } from "../lib/face/_tfjs.ts";
import { H, readSampleClip, W } from "./_common.ts";

function rssMiB(): number {
  return Deno.memoryUsage().rss / 2 ** 20;
}

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return `mean ${mean.toFixed(2)}  median ${at(0.5).toFixed(2)}  p95 ${
    at(0.95).toFixed(2)
  }`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      faces: { type: "string", default: "100" },
      rgb: { type: "boolean" },
    },
  });
  const wanted = Number(values.faces);
  const channels = values.rgb ? 3 : 1;
  const { pixels, frameBytes: size, truth } = await readSampleClip({
    rgb: channels === 3,
  });
  const faces: { frame: Image; box: Box }[] = [];
  for (const entry of truth) {
    for (const { x, y, w, h } of entry.faces) {
      faces.push({
        frame: {
          width: W,
          height: H,
          channels: channels as 1 | 3,
          data: pixels.subarray(
            entry.frame * size,
            (entry.frame + 1) * size,
          ),
        },
        box: { x, y, w, h },
      });
    }
  }
  // Spread over the clip.
  const step = Math.max(1, Math.floor(faces.length / wanted));
  const picked = faces.filter((_, i) => i % step === 0).slice(0, wanted);

  const before = rssMiB();
  let t = performance.now();
  const nets = await loadFaceNets();
  const loadMs = performance.now() - t;
  const loaded = rssMiB();

  const first = picked[0];
  t = performance.now();
  const points0 = detectLandmarks(nets, first.frame, first.box);
  const firstLandmarks = performance.now() - t;
  const chip0 = extractChip(
    first.frame,
    faceChipMapping(points0, DESCRIPTOR_CHIP),
  );
  t = performance.now();
  nets.descriptor(chip0.data);
  const firstDescriptor = performance.now() - t;

  const landmarks: number[] = [];
  const alignment: number[] = [];
  const descriptor: number[] = [];
  const total: number[] = [];
  for (const { frame, box } of picked) {
    const t0 = performance.now();
    const points = detectLandmarks(nets, frame, box);
    const t1 = performance.now();
    const chip = extractChip(frame, faceChipMapping(points, DESCRIPTOR_CHIP));
    fitMeanShape(points);
    const t2 = performance.now();
    nets.descriptor(chip.data);
    const t3 = performance.now();
    landmarks.push(t1 - t0);
    alignment.push(t2 - t1);
    descriptor.push(t3 - t2);
    total.push(t3 - t0);
  }
  const after = rssMiB();
  console.log(
    `${picked.length} faces of samples/sample.mp4 (${
      channels === 1 ? "grey" : "RGB"
    } frames, ${Math.min(...picked.map((f) => f.box.w))}-${
      Math.max(...picked.map((f) => f.box.w))
    } px)`,
  );
  console.log(
    `networks loaded in ${loadMs.toFixed(0)} ms; weights ${
      (nets.weightBytes / 2 ** 20).toFixed(1)
    } MiB of tensors; resident memory ${before.toFixed(0)} -> ${
      loaded.toFixed(0)
    } MiB loaded -> ${after.toFixed(0)} MiB after the faces`,
  );
  console.log(
    `first calls in this thread: landmarks ${
      firstLandmarks.toFixed(0)
    } ms, descriptor ${firstDescriptor.toFixed(0)} ms`,
  );
  console.log(`landmarks   ${stats(landmarks)}`);
  console.log(`alignment   ${stats(alignment)}`);
  console.log(`descriptor  ${stats(descriptor)}`);
  console.log(`per face    ${stats(total)}`);
}

if (import.meta.main) {
  await main();
}
