import assert from "node:assert/strict";
import { FaceDetector } from "../../lib/face/detector.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import { nameFaces } from "../../lib/face/naming.ts";
import { unpackRecognizer } from "../../lib/face/recognizers.ts";
import {
  createResnetRecognizer,
  DEFAULT_RESNET_THRESHOLD,
  MAX_SHAPE_RESIDUAL,
  ResnetRecognizer,
  unpackResnetRecognizer,
} from "../../lib/face/resnet.ts";
import { TRAINING_DETECT_OPTIONS } from "../../lib/face/training.ts";
import type { Box, Image } from "../../lib/images/image.ts";
import { readImage } from "../../lib/images/image_io.ts";

const orl = new URL("../fixtures/orl/", import.meta.url);

/**
 * Two photos each of five ORL people, with the boxes the Haar detector finds
 * in them (`findTrainingFace` with training's detection options).
 */
const PHOTOS: { person: string; file: string; box: Box }[] = [
  { person: "s1", file: "1.pgm", box: { x: 5, y: 23, w: 81, h: 81 } },
  { person: "s1", file: "3.pgm", box: { x: 5, y: 19, w: 80, h: 80 } },
  { person: "s2", file: "2.pgm", box: { x: 7, y: 19, w: 83, h: 83 } },
  { person: "s2", file: "3.pgm", box: { x: 4, y: 18, w: 85, h: 85 } },
  { person: "s3", file: "1.pgm", box: { x: 8, y: 24, w: 80, h: 80 } },
  { person: "s3", file: "2.pgm", box: { x: 11, y: 24, w: 79, h: 79 } },
  { person: "s4", file: "1.pgm", box: { x: 4, y: 21, w: 77, h: 77 } },
  { person: "s4", file: "2.pgm", box: { x: 14, y: 22, w: 74, h: 74 } },
  { person: "s5", file: "2.pgm", box: { x: 6, y: 27, w: 77, h: 77 } },
  { person: "s5", file: "3.pgm", box: { x: 12, y: 29, w: 74, h: 74 } },
];

async function grey(person: string, file: string): Promise<Image> {
  return await readImage(new URL(`${person}/${file}`, orl).pathname, {
    grey: true,
  });
}

function rgbOf(image: Image): Image {
  const data = new Uint8Array(image.width * image.height * 3);
  for (let i = 0; i < image.data.length; i++) {
    data.fill(image.data[i], i * 3, i * 3 + 3);
  }
  return { width: image.width, height: image.height, channels: 3, data };
}

// One recogniser (one network load) and the descriptors for all tests.
const recognizer = await ResnetRecognizer.create();
const descriptors: Float32Array[] = [];
for (const { person, file, box } of PHOTOS) {
  const descriptor = recognizer.describe(await grey(person, file), box);
  assert.ok(descriptor, `${person}/${file} is a face`);
  descriptors.push(descriptor);
}

Deno.test("resnet: 128 finite numbers per face, 3 channels, kind resnet", () => {
  assert.equal(recognizer.kind, "resnet");
  assert.equal(recognizer.channels, 3);
  assert.equal(recognizer.descriptorSize, 128);
  assert.equal(recognizer.threshold, DEFAULT_RESNET_THRESHOLD);
  for (const d of descriptors) {
    assert.ok(d instanceof Float32Array);
    assert.equal(d.length, 128);
    assert.ok(d.every(Number.isFinite));
  }
});

Deno.test("resnet: two photos of a person are nearer than photos of two people", () => {
  let farthestSame = 0, nearestOther = Infinity;
  for (let i = 0; i < PHOTOS.length; i++) {
    for (let j = i + 1; j < PHOTOS.length; j++) {
      const d = recognizer.distance(descriptors[i], descriptors[j]);
      if (PHOTOS[i].person === PHOTOS[j].person) {
        farthestSame = Math.max(farthestSame, d);
      } else nearestOther = Math.min(nearestOther, d);
    }
  }
  assert.ok(
    farthestSame < nearestOther,
    `same person up to ${farthestSame}, different people from ${nearestOther}`,
  );
  assert.ok(farthestSame < DEFAULT_RESNET_THRESHOLD, `${farthestSame}`);
});

Deno.test("resnet: a grey frame is described as its RGB copy", async () => {
  const { person, file, box } = PHOTOS[0];
  const frame = await grey(person, file);
  const fromRgb = recognizer.describe(rgbOf(frame), box);
  assert.deepEqual([...fromRgb!], [...descriptors[0]]);
});

Deno.test("resnet: the landmarks of a real face pass the face check", async () => {
  const { person, file, box } = PHOTOS[2];
  const face = recognizer.describeFace(await grey(person, file), box);
  assert.ok(face.isFace);
  assert.ok(face.shapeResidual! < 0.1, `residual ${face.shapeResidual}`);
  assert.equal(face.landmarks!.length, 68);
  assert.equal(face.chip.width, 150);
  assert.equal(face.chip.height, 150);
});

Deno.test("resnet: nearestTwo names the right person and the runner-up", async () => {
  const people = [...new Set(PHOTOS.map((p) => p.person))];
  const labels = PHOTOS.map(({ person }) => people.indexOf(person));
  // Trained on the first photo of each person, asked with the second.
  const r = await ResnetRecognizer.create();
  r.add(
    descriptors.filter((_, i) => i % 2 === 0),
    labels.filter((_, i) => i % 2 === 0),
  );
  assert.equal(r.size, 5);
  for (let i = 1; i < PHOTOS.length; i += 2) {
    const { best, runnerUp } = r.nearestTwo(descriptors[i]);
    assert.equal(best.label, labels[i]);
    assert.ok(runnerUp !== null && runnerUp.label !== best.label);
    assert.ok(best.distance < runnerUp.distance);
    assert.equal(best.distance, r.distance(descriptors[i], descriptors[i - 1]));
  }
});

Deno.test("resnet: pack and unpack give the same recogniser", async () => {
  const original = await ResnetRecognizer.create({ threshold: 0.55 });
  original.add(descriptors.slice(0, 6), [0, 0, 1, 1, 2, 2]);
  original.labelNames.set(0, "s1").set(1, "s2").set(2, "s3");
  const packed = structuredClone(original.pack());
  assert.equal(packed.kind, "resnet");
  assert.deepEqual(packed.params, { align: 1 });
  assert.equal(packed.descriptors.length, 6 * 128);

  for (
    const copy of [
      await unpackResnetRecognizer(packed),
      await unpackRecognizer(packed),
    ]
  ) {
    assert.deepEqual(copy.pack(), original.pack());
    assert.equal(copy.size, 6);
    assert.deepEqual(copy.labels, [0, 0, 1, 1, 2, 2]);
    assert.equal(copy.labelNames.get(2), "s3");
    for (const d of descriptors) {
      assert.deepEqual(copy.nearestTwo(d), original.nearestTwo(d));
    }
  }
});

Deno.test("resnet: parameters are checked; align 0 crops the box", async () => {
  await assert.rejects(
    () => createResnetRecognizer({ params: { radius: 1 } }),
    /unknown parameter "radius"/,
  );
  await assert.rejects(
    () => createResnetRecognizer({ params: { align: 2 } }),
    /align must be 0 or 1/,
  );
  const plain = await createResnetRecognizer({
    params: { align: 0 },
    threshold: 0.5,
  });
  assert.equal(plain.align, false);
  assert.equal(plain.threshold, 0.5);
  const { person, file, box } = PHOTOS[0];
  const face = plain.describeFace(await grey(person, file), box);
  assert.equal(face.landmarks, undefined);
  assert.ok(face.isFace);
  assert.notDeepEqual([...face.descriptor], [...descriptors[0]]);
  await assert.rejects(
    () =>
      unpackResnetRecognizer({
        ...plain.pack(),
        descriptors: new Float32Array(5),
        labels: [0],
      }),
    /1 labels need 128/,
  );
});

Deno.test("resnet: bad descriptors and empty recognisers are refused", async () => {
  const r = await ResnetRecognizer.create();
  assert.throws(() => r.nearestTwo(descriptors[0]), /no training faces/);
  assert.throws(() => r.add([new Float32Array(127)], [0]), /128 numbers/);
  assert.throws(
    () => r.add([descriptors[0]], [0, 1]),
    /1 descriptors but 2 labels/,
  );
  const bad = new Float32Array(128);
  bad[3] = NaN;
  assert.throws(() => r.add([bad], [0]), /non-finite/);
  assert.throws(
    () => r.describe(descriptorsFrame(), { x: 0, y: 0, w: 0, h: 5 }),
    /empty face box/,
  );
});

function descriptorsFrame(): Image {
  return { width: 4, height: 4, channels: 1, data: new Uint8Array(16) };
}

Deno.test("resnet: a Haar box on something else is no face: describe gives null, naming leaves it out", async () => {
  // A PASCAL VOC photo (dlib's examples): training's detection finds its 6
  // marked faces and a 27-pixel box below them on no face (landmarks' shape
  // residual 0.73, where faces are at 0.03).
  const photo = await readImage(
    new URL("../fixtures/detection/2008_002470.pgm", import.meta.url).pathname,
    { grey: true },
  );
  const detector = await FaceDetector.create();
  let boxes: Box[];
  try {
    boxes = detector.detect(photo, TRAINING_DETECT_OPTIONS);
  } finally {
    detector.close();
  }
  const isFalse = (b: Box) => b.x === 163 && b.y === 230 && b.w === 27;
  assert.equal(boxes.length, 7);
  assert.equal(boxes.filter(isFalse).length, 1);
  const falseBox = boxes.find(isFalse)!;
  const seen = recognizer.describeFace(photo, falseBox);
  assert.ok(!seen.isFace && seen.shapeResidual! > MAX_SHAPE_RESIDUAL);
  assert.equal(recognizer.describe(photo, falseBox), null);
  // The caller says the whole picture is a face: it is described.
  assert.ok(recognizer.describe(photo, falseBox, { whole: true }));

  const model = await ResnetRecognizer.create();
  model.add(descriptors, PHOTOS.map((_, i) => i >> 1));
  const named = nameFaces(photo, boxes, { recognizer: model });
  assert.deepEqual(
    named.map(({ x, y, w, h }) => ({ x, y, w, h })),
    boxes.filter((b) => !isFalse(b)),
  );
  // LBPH cannot tell: every box gets a descriptor and an answer.
  const lbph = new LbphRecognizer();
  lbph.add([lbph.describe(photo, boxes[0])], [0]);
  assert.equal(nameFaces(photo, boxes, { recognizer: lbph }).length, 7);
});
