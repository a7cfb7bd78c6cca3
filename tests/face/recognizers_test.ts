// The recogniser registry: kinds made from packed parameters, and packed
// recognisers rebuilt (what worker threads and model files rely on). ORL
// faces: AT&T Laboratories Cambridge / Olivetti Research Laboratory.

import assert from "node:assert/strict";
import { DEFAULT_FACE_PREP } from "../../lib/face/face_prep.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import type { RecognizerKind } from "../../lib/face/recognizer.ts";
import {
  createRecognizer,
  isRecognizerKind,
  unpackRecognizer,
} from "../../lib/face/recognizers.ts";
import { readImage } from "../../lib/images/image_io.ts";

const ORL = new URL("../fixtures/orl/", import.meta.url).pathname;

Deno.test("createRecognizer makes an empty LBPH recogniser from packed parameters", async () => {
  const plain = await createRecognizer("lbph");
  assert.ok(plain instanceof LbphRecognizer);
  assert.deepEqual(
    [plain.radius, plain.neighbors, plain.gridX, plain.gridY],
    [1, 8, 8, 8],
  );
  assert.deepEqual(plain.prep, DEFAULT_FACE_PREP);
  assert.equal(plain.threshold, Number.MAX_VALUE);
  assert.equal(plain.size, 0);
  assert.equal(plain.channels, 1);

  const params = {
    radius: 2,
    neighbors: 4,
    gridX: 3,
    gridY: 5,
    faceSize: 50,
    faceMargin: 0.25,
    equalize: 0,
  };
  const r = await createRecognizer("lbph", { params, threshold: 12.5 });
  assert.ok(r instanceof LbphRecognizer);
  assert.equal(r.kind, "lbph");
  assert.deepEqual(r.params, params);
  assert.deepEqual(r.prep, { size: 50, margin: 0.25, equalize: false });
  assert.equal(r.descriptorSize, 3 * 5 * 16);
  assert.equal(r.threshold, 12.5);
});

Deno.test("createRecognizer refuses unknown kinds and parameters", async () => {
  assert.equal(isRecognizerKind("lbph"), true);
  assert.equal(isRecognizerKind("eigen"), false);
  await assert.rejects(
    createRecognizer("eigen" as RecognizerKind),
    /unknown recogniser "eigen" \(facezmq has lbph, resnet\)/,
  );
  await assert.rejects(
    createRecognizer("lbph", { params: { depth: 3 } }),
    /LBPH: unknown parameter "depth"/,
  );
  await assert.rejects(
    createRecognizer("lbph", { params: { equalize: 2 } }),
    /equalize must be 0 or 1/,
  );
  await assert.rejects(
    createRecognizer("lbph", { params: { neighbors: 17 } }),
    /neighbors must be an integer from 1 to 16/,
  );
});

Deno.test("createRecognizer loads the resnet module when asked", async () => {
  const resnet = await createRecognizer("resnet");
  assert.equal(resnet.kind, "resnet");
  assert.equal(resnet.descriptorSize, 128);
  assert.equal(resnet.channels, 3);
  assert.equal(resnet.size, 0);
});

Deno.test("unpackRecognizer rebuilds what pack gave: parameters, preparation, threshold, descriptors, labels, names", async () => {
  const r = await createRecognizer("lbph", {
    params: { radius: 2, gridX: 4, gridY: 4, faceSize: 60 },
    threshold: 99,
  });
  const descriptors = [];
  const labels = [];
  for (const [label, person] of ["s1", "s2"].entries()) {
    r.labelNames.set(label, person);
    for (let i = 1; i <= 3; i++) {
      const face = await readImage(`${ORL}${person}/${i}.pgm`, { grey: true });
      // A detected box: the recogniser crops, resizes and equalises it.
      descriptors.push(r.describe(face, { x: 10, y: 20, w: 70, h: 80 })!);
      labels.push(label);
    }
  }
  r.add(descriptors, labels);

  const copy = await unpackRecognizer(structuredClone(r.pack()));
  assert.ok(copy instanceof LbphRecognizer);
  assert.deepEqual(copy.pack(), r.pack());
  assert.equal(copy.threshold, 99);
  assert.deepEqual(copy.prep, { ...DEFAULT_FACE_PREP, size: 60 });
  const probe = await readImage(`${ORL}s2/5.pgm`, { grey: true });
  const box = { x: 10, y: 20, w: 70, h: 80 };
  const query = copy.describe(probe, box);
  assert.deepEqual(query, r.describe(probe, box));
  assert.deepEqual(copy.nearestTwo(query), r.nearestTwo(query));
  assert.equal(copy.nearestTwo(query).best.label, 1);
  // describe in whole mode is the histogram of the picture as given.
  assert.deepEqual(
    copy.describe(probe, box, { whole: true }),
    copy.histogram(probe),
  );
  assert.equal(copy.distance(query, query), 0);
  assert.throws(
    () => copy.distance(query, query.subarray(1)),
    /histograms of different sizes/,
  );
});
