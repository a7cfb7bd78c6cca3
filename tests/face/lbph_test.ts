// Compares lib/lbph.ts with native OpenCV 4.6 cv2.face LBPH. The expected
// values in tests/fixtures/lbph/ were written by tools/oracle_lbph.py from the
// ORL images in tests/fixtures/orl (AT&T Laboratories Cambridge / Olivetti
// Research Laboratory).

import assert from "node:assert/strict";
import type { Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";
import {
  chiSquareAlt,
  elbp,
  LbphRecognizer,
  spatialHistogram,
} from "../../lib/face/lbph.ts";
import { parseModel } from "../../lib/face/model_file.ts";
import { unpackRecognizer } from "../../lib/face/recognizers.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

interface Crop {
  top: number;
  left: number;
  height: number;
  width: number;
}

interface Expected {
  file: string;
  truth: number;
  label: number;
  distance: number;
}

interface Case {
  radius: number;
  neighbors: number;
  gridX: number;
  gridY: number;
  crop: Crop | null;
  train: { file: string; label: number }[];
  predictions: Expected[];
  threshold: number;
  thresholded: Expected[];
  modelFile: string;
  modelTrain: { file: string; label: number }[];
  modelPredictions: Expected[];
}

const oracle: { cases: Record<string, Case> } = JSON.parse(
  await Deno.readTextFile(new URL("lbph/predictions.json", FIXTURES)),
);

function crop(image: Image, c: Crop | null): Image {
  if (c === null) return image;
  const data = new Uint8Array(c.width * c.height);
  for (let r = 0; r < c.height; r++) {
    const start = (c.top + r) * image.width + c.left;
    data.set(image.data.subarray(start, start + c.width), r * c.width);
  }
  return { width: c.width, height: c.height, channels: 1, data };
}

const cache = new Map<string, Image>();
async function face(file: string, c: Crop | null = null): Promise<Image> {
  let image = cache.get(file);
  if (image === undefined) {
    image = await readImage(new URL(`orl/${file}`, FIXTURES).pathname, {
      grey: true,
    });
    cache.set(file, image);
  }
  return crop(image, c);
}

function recognizerFor(c: Case): LbphRecognizer {
  return new LbphRecognizer({
    radius: c.radius,
    neighbors: c.neighbors,
    gridX: c.gridX,
    gridY: c.gridY,
  });
}

async function trained(
  c: Case,
  list: { file: string; label: number }[],
): Promise<LbphRecognizer> {
  const r = recognizerFor(c);
  const faces = await Promise.all(list.map((t) => face(t.file, c.crop)));
  r.train(faces, list.map((t) => t.label));
  return r;
}

function assertSamePrediction(
  got: { label: number; distance: number },
  want: Expected,
): void {
  assert.equal(got.label, want.label, `label for ${want.file}`);
  const scale = Math.max(Math.abs(want.distance), 1e-300);
  assert.ok(
    Math.abs(got.distance - want.distance) / scale <= 1e-9,
    `distance for ${want.file}: ${got.distance} vs cv2 ${want.distance}`,
  );
}

function bits(h: Float32Array): Uint32Array {
  return new Uint32Array(h.buffer, h.byteOffset, h.length);
}

for (const [name, c] of Object.entries(oracle.cases)) {
  Deno.test(`lbph ${name}: histograms bit-identical to cv2's model file`, async () => {
    const ours = await trained(c, c.modelTrain);
    const cv2 = await unpackRecognizer(parseModel(
      await Deno.readTextFile(new URL(`lbph/${c.modelFile}`, FIXTURES)),
      c.modelFile,
    ));
    assert.ok(cv2 instanceof LbphRecognizer);
    assert.equal(ours.histogramSize, cv2.histogramSize);
    assert.deepEqual(ours.labels, cv2.labels);
    const a = ours.histograms;
    const b = cv2.histograms;
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) {
      assert.deepEqual(bits(a[i]), bits(b[i]), `histogram ${i}`);
    }
  });

  Deno.test(`lbph ${name}: predictions equal cv2's (label, distance)`, async () => {
    const r = await trained(c, c.train);
    let correct = 0;
    for (const want of c.predictions) {
      const got = r.predict(await face(want.file, c.crop));
      assertSamePrediction(got, want);
      if (got.label === want.truth) correct++;
    }
    // Sanity: the faces are really recognised, not just equally wrong.
    assert.ok(correct > c.predictions.length / 2, `${correct} correct`);
  });

  Deno.test(`lbph ${name}: threshold gives -1 exactly where cv2 does`, async () => {
    const r = await trained(c, c.train);
    r.threshold = c.threshold;
    let unknown = 0;
    for (const want of c.thresholded) {
      const got = r.predict(await face(want.file, c.crop));
      assertSamePrediction(got, want);
      if (got.label === -1) {
        unknown++;
        assert.equal(got.distance, Number.MAX_VALUE);
        // nearest() still reports the nearest face beyond the threshold.
        assert.ok(
          r.nearest(await face(want.file, c.crop)).distance >= c.threshold,
        );
      }
    }
    assert.ok(unknown > 0 && unknown < c.thresholded.length);
  });
}

Deno.test("lbph: update appends to the training data", async () => {
  const c = oracle.cases["default"];
  const first = c.train.slice(0, 17);
  const rest = c.train.slice(17);
  const r = await trained(c, first);
  r.update(
    await Promise.all(rest.map((t) => face(t.file))),
    rest.map((t) => t.label),
  );
  assert.equal(r.size, c.train.length);
  assert.deepEqual(r.labels, c.train.map((t) => t.label));
  const all = await trained(c, c.train);
  for (let i = 0; i < all.size; i++) {
    assert.deepEqual(bits(r.histograms[i]), bits(all.histograms[i]));
  }
  for (const want of c.predictions.slice(0, 8)) {
    assertSamePrediction(r.predict(await face(want.file)), want);
  }
  // train() replaces what update() added.
  r.train([await face(first[0].file)], [first[0].label]);
  assert.equal(r.size, 1);
  assert.deepEqual(r.labels, [first[0].label]);
});

Deno.test("lbph: elbp and spatialHistogram shapes and normalisation", async () => {
  const img = await face("s1/1.pgm");
  const lbp = elbp(img, { radius: 2, neighbors: 8 });
  assert.equal(lbp.width, img.width - 4);
  assert.equal(lbp.height, img.height - 4);
  const h = spatialHistogram(lbp, { neighbors: 8, gridX: 3, gridY: 5 });
  assert.equal(h.length, 3 * 5 * 256);
  // Each cell sums to about 1 (float32 rounding aside).
  for (let cell = 0; cell < 15; cell++) {
    let sum = 0;
    for (let b = 0; b < 256; b++) sum += h[cell * 256 + b];
    assert.ok(Math.abs(sum - 1) < 1e-5, `cell ${cell} sums to ${sum}`);
  }
});

Deno.test("lbph: chiSquareAlt skips empty bins and is symmetric", () => {
  const a = new Float32Array([0.5, 0.25, 0, 0.25]);
  const b = new Float32Array([0.25, 0.25, 0, 0.5]);
  // 2 * (0.25²/0.75 + 0 + 0.25²/0.75)
  assert.equal(chiSquareAlt(a, b), 2 * (0.0625 / 0.75 + 0.0625 / 0.75));
  assert.equal(chiSquareAlt(a, b), chiSquareAlt(b, a));
  assert.equal(chiSquareAlt(a, a), 0);
  assert.throws(() => chiSquareAlt(a, new Float32Array(5)), /different sizes/);
});

Deno.test("lbph: bad input gives clear errors", async () => {
  const grey = await face("s1/1.pgm");
  const rgb: Image = {
    width: 4,
    height: 4,
    channels: 3,
    data: new Uint8Array(48),
  };
  const r = new LbphRecognizer();
  assert.throws(() => r.predict(grey), /no training data/);
  assert.throws(() => r.train([rgb], [1]), /face 0 must be a grey image/);
  assert.throws(() => r.train([grey, grey], [1]), /2 faces but 1 labels/);
  assert.throws(() => r.train([], []), /no faces given/);
  assert.throws(
    () => r.train([grey], [1.5]),
    /label 0 must be a 32-bit integer/,
  );
  assert.throws(
    () =>
      r.train(
        [{ width: 5, height: 5, channels: 1, data: new Uint8Array(25) }],
        [1],
      ),
    /cannot be cut into a 8x8 grid/,
  );
  assert.throws(
    () =>
      r.train(
        [{ width: 9, height: 9, channels: 1, data: new Uint8Array(10) }],
        [1],
      ),
    /inconsistent size 9x9 for 10 bytes/,
  );
  assert.throws(
    () => new LbphRecognizer({ neighbors: 40 }),
    /neighbors must be an integer from 1 to 16/,
  );
  assert.throws(() => new LbphRecognizer({ radius: 0 }), /radius must be/);
  r.train([grey], [3]);
  assert.throws(() => r.predict(rgb), /must be a grey image/);
  // A face of a different size than the training faces still works, as in OpenCV.
  assert.equal(
    r.predict(crop(grey, { top: 0, left: 0, height: 60, width: 50 })).label,
    3,
  );
});

Deno.test("lbph: sparse nearest search equals chiSquareAlt bit for bit, odd values fall back", async () => {
  const c = oracle.cases["default"];
  const r = await trained(c, c.train);
  const probe = await face(c.predictions[0].file);
  const all = r.distances(probe); // plain chiSquareAlt per training face
  const best = Math.min(...all);
  assert.equal(r.predict(probe).distance, best);
  assert.equal(r.predict(probe).label, r.labels[all.indexOf(best)]);
  // A histogram with values OpenCV's DBL_EPSILON guard skips (from an edited
  // model file) switches to the exact general loop.
  const odd = new Float32Array(r.histogramSize).fill(1e-20);
  odd[0] = 1;
  r.addHistograms([odd], [99]);
  const query = r.histogram(probe);
  assert.equal(r.nearestHistogram(query).distance, best);
  assert.equal(chiSquareAlt(odd, query), r.distances(probe)[r.size - 1]);
});

Deno.test("lbph: nearestTwo gives the exact best and the nearest other person", async () => {
  const c = oracle.cases["default"];
  const r = await trained(c, c.train);
  const probe = await face(c.predictions[0].file);
  const query = r.histogram(probe);
  const { best, runnerUp } = r.nearestTwo(query);
  assert.deepEqual(best, r.nearestHistogram(query));
  assert.ok(runnerUp);
  assert.notEqual(runnerUp.label, best.label);
  const exact = r.distancesOf(query);
  let other = Infinity;
  exact.forEach((d, i) => {
    if (r.labels[i] !== best.label && d < other) other = d;
  });
  assert.ok(Math.abs(runnerUp.distance - other) / other < 1e-12);
  assert.ok(runnerUp.distance >= best.distance);
});
