import assert from "node:assert/strict";
import { FaceDetector } from "../../lib/face/detector.ts";
import { readImage } from "../../lib/images/image_io.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import {
  labelName,
  nameFaces,
  recognise,
  UNKNOWN,
} from "../../lib/face/naming.ts";

// ORL faces (AT&T Laboratories Cambridge / Olivetti Research Laboratory).
const ORL = new URL("../fixtures/orl/", import.meta.url).pathname;
const face = (person: string, i: number) =>
  readImage(`${ORL}${person}/${i}.pgm`, { grey: true });

async function wholeFaceModel(): Promise<LbphRecognizer> {
  const recognizer = new LbphRecognizer();
  const faces = [];
  const labels = [];
  for (const [label, person] of ["s1", "s2", "s3"].entries()) {
    for (let i = 1; i <= 5; i++) {
      faces.push(await face(person, i));
      labels.push(label);
    }
    recognizer.labelNames.set(label, person);
  }
  recognizer.train(faces, labels);
  return recognizer;
}

Deno.test("nameFaces names a clear match and reports the nearest distance", async () => {
  const recognizer = await wholeFaceModel();
  const probe = await face("s2", 7);
  const whole = { x: 0, y: 0, w: probe.width, h: probe.height };
  const [named] = nameFaces(probe, [whole], { recognizer, whole: true });
  assert.equal(named.label, "s2");
  assert.equal(named.distance, recognizer.nearest(probe).distance);
  assert.deepEqual({ x: named.x, y: named.y, w: named.w, h: named.h }, whole);
});

Deno.test("a face beyond the threshold, or no clearer than the runner-up, is unknown", async () => {
  const recognizer = await wholeFaceModel();
  const probe = await face("s2", 7);
  const whole = { x: 0, y: 0, w: probe.width, h: probe.height };
  const nearest = recognizer.nearest(probe).distance;
  recognizer.threshold = nearest; // at the threshold is not within it
  assert.equal(
    nameFaces(probe, [whole], { recognizer, whole: true })[0].label,
    UNKNOWN,
  );
  recognizer.threshold = Number.MAX_VALUE;
  // Demand the best be 1000 times nearer than anybody else: nobody is that clear.
  const [strict] = nameFaces(probe, [whole], {
    recognizer,
    whole: true,
    ambiguity: 0.001,
  });
  assert.equal(strict.label, UNKNOWN);
  assert.equal(strict.distance, nearest);
  // Turned off: the nearest person is named.
  assert.equal(
    nameFaces(probe, [whole], { recognizer, whole: true, ambiguity: 1 })[0]
      .label,
    "s2",
  );
});

Deno.test("labelName gives unknown for -1 and the number for an unnamed label", async () => {
  const recognizer = await wholeFaceModel();
  assert.equal(labelName(recognizer, -1), UNKNOWN);
  assert.equal(labelName(recognizer, 1), "s2");
  assert.equal(labelName(recognizer, 7), "7");
});

Deno.test("recognise detects faces in an RGB picture before naming them", async () => {
  const detector = await FaceDetector.create();
  try {
    const recognizer = await wholeFaceModel();
    // An ORL face placed on a larger canvas, as a camera would see it.
    const probe = await face("s1", 8);
    const width = 320;
    const height = 240;
    const rgb = new Uint8Array(width * height * 3).fill(90);
    for (let y = 0; y < probe.height; y++) {
      for (let x = 0; x < probe.width; x++) {
        const v = probe.data[y * probe.width + x];
        rgb.set([v, v, v], ((60 + y) * width + 110 + x) * 3);
      }
    }
    const found = recognise({ width, height, channels: 3, data: rgb }, {
      detector,
      recognizer,
    });
    assert.equal(found.length, 1);
    assert.ok(
      found[0].x >= 100 && found[0].x + found[0].w <= 215,
      JSON.stringify(found),
    );
    assert.throws(
      () => recognise(probe, { recognizer }),
      /needs a face detector/,
    );
  } finally {
    detector.close();
  }
});
