/**
 * ORL accuracy and predict speed of the LBPH recogniser (lib/lbph.ts).
 *
 * Whole ORL faces (AT&T Laboratories Cambridge / Olivetti Research
 * Laboratory), images 1-5 of each of the 40 people trained, 6-10 tested,
 * OpenCV's default parameters. Native cv2.face gets 92.0% on this split
 * (`/usr/bin/python3 tools/oracle_lbph.py orl` prints it).
 *
 * ```sh
 * deno run --allow-read tools/eval_orl.ts [--orl DIR] [--time]
 * ```
 *
 * `--time` also measures predict for a 100x100 face against 400 training
 * faces of 100x100 (the ORL images resized).
 *
 * @module
 */

import { parseArgs } from "node:util";
import type { Image } from "../lib/images/image.ts";
import { readImage } from "../lib/images/image_io.ts";
import { LbphRecognizer } from "../lib/face/lbph.ts";

/** Bilinear resize of a grey image (for the timing run only). */
function resize(image: Image, width: number, height: number): Image {
  const out = new Uint8Array(width * height);
  const sx = image.width / width;
  const sy = image.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), image.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, image.height - 1);
    const ty = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), image.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, image.width - 1);
      const tx = fx - x0;
      const d = image.data;
      const w = image.width;
      const top = d[y0 * w + x0] * (1 - tx) + d[y0 * w + x1] * tx;
      const bottom = d[y1 * w + x0] * (1 - tx) + d[y1 * w + x1] * tx;
      out[y * width + x] = Math.round(top * (1 - ty) + bottom * ty);
    }
  }
  return { width, height, channels: 1, data: out };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      orl: { type: "string", default: "/work/shared/data/orl" },
      time: { type: "boolean", default: false },
    },
  });
  const root = values.orl;
  const train: Image[] = [];
  const trainLabels: number[] = [];
  const tests: Image[] = [];
  const testLabels: number[] = [];
  for (let p = 1; p <= 40; p++) {
    for (let i = 1; i <= 10; i++) {
      const image = await readImage(`${root}/s${p}/${i}.pgm`, { grey: true });
      (i <= 5 ? train : tests).push(image);
      (i <= 5 ? trainLabels : testLabels).push(p);
    }
  }
  const recognizer = new LbphRecognizer();
  let start = performance.now();
  recognizer.train(train, trainLabels);
  const trainMs = performance.now() - start;
  let correct = 0;
  start = performance.now();
  for (let i = 0; i < tests.length; i++) {
    if (recognizer.predict(tests[i]).label === testLabels[i]) correct++;
  }
  const predictMs = (performance.now() - start) / tests.length;
  console.log(
    `LBPH (defaults) ORL 1-5 train / 6-10 test: ${correct}/${tests.length} = ${
      (100 * correct / tests.length).toFixed(1)
    }% (native cv2.face: 92.0%)`,
  );
  console.log(
    `train ${train.length} faces 92x112: ${
      trainMs.toFixed(0)
    } ms; predict vs ${train.length}: ${predictMs.toFixed(2)} ms`,
  );

  if (values.time) {
    const faces = [...train, ...tests].map((f) => resize(f, 100, 100));
    const big = new LbphRecognizer();
    big.train(faces, [...trainLabels, ...testLabels]);
    const query = faces.map((f) => big.histogram(f));
    // Warm up the JIT, then time.
    for (let k = 0; k < 20; k++) big.predict(faces[k]);
    const runs = 200;
    start = performance.now();
    for (let k = 0; k < runs; k++) big.predict(faces[k % faces.length]);
    const full = (performance.now() - start) / runs;
    start = performance.now();
    for (let k = 0; k < runs; k++) {
      big.predictHistogram(query[k % query.length]);
    }
    const search = (performance.now() - start) / runs;
    console.log(
      `predict 100x100 vs ${big.size} faces: ${full.toFixed(2)} ms (histogram ${
        (full - search).toFixed(2)
      } ms + nearest search ${search.toFixed(2)} ms)`,
    );
  }
}

if (import.meta.main) {
  await main();
}
