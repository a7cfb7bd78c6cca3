import assert from "node:assert/strict";
import {
  bestSplit,
  calibrateThreshold,
  CALIBRATION_MARGIN,
  leaveOneOutDistances,
} from "../../lib/face/calibration.ts";
import { readImage } from "../../lib/images/image_io.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";

Deno.test("bestSplit puts the threshold between separable samples", () => {
  const result = bestSplit([10, 12, 20], [30, 41, 50]);
  assert.equal(result.threshold, 25); // middle of the gap 20..30
  assert.equal(result.knownAccepted, 1);
  assert.equal(result.unknownRejected, 1);
});

Deno.test("bestSplit balances overlapping samples", () => {
  // Known 10, 20, 35 / unknown 30, 40, 50: any threshold in (20, 30] gets 2/3 + 1,
  // as does (35, 40]; the first best range wins.
  const result = bestSplit([10, 20, 35], [30, 40, 50]);
  assert.ok(
    result.threshold > 20 && result.threshold <= 30,
    `${result.threshold}`,
  );
  assert.ok(Math.abs(result.knownAccepted - 2 / 3) < 1e-12);
  assert.equal(result.unknownRejected, 1);
});

Deno.test("calibrateThreshold refuses a training set with one person", () => {
  // 1 neighbour, 1x1 grid: descriptors of 2 numbers.
  const recognizer = new LbphRecognizer({ neighbors: 1, gridX: 1, gridY: 1 });
  recognizer.add([new Float32Array([1, 0]), new Float32Array([0, 1])], [0, 0]);
  assert.throws(() => calibrateThreshold(recognizer), /at least 2 people/);
});

Deno.test("calibration on ORL faces separates people it has not seen", async () => {
  // 6 ORL people (AT&T Laboratories Cambridge / Olivetti Research Laboratory), 5 photos each.
  const dir = new URL("../fixtures/orl/", import.meta.url).pathname;
  const people = ["s1", "s2", "s3", "s4", "s5", "s6"];
  const faces = [];
  const labels = [];
  for (let p = 0; p < people.length; p++) {
    for (let i = 1; i <= 5; i++) {
      faces.push(
        await readImage(`${dir}${people[p]}/${i}.pgm`, { grey: true }),
      );
      labels.push(p);
    }
  }
  const recognizer = new LbphRecognizer();
  recognizer.train(faces, labels);
  const { known, unknown } = leaveOneOutDistances(recognizer);
  assert.equal(known.length, 30);
  assert.equal(unknown.length, 30);
  // The split itself separates the training set well on real faces...
  const split = bestSplit(known, unknown);
  assert.ok(
    split.knownAccepted + split.unknownRejected > 1.4,
    JSON.stringify(split),
  );
  // ...and the threshold is that split widened by the documented margin.
  const calibration = calibrateThreshold(recognizer);
  assert.equal(calibration.split, split.threshold);
  assert.ok(
    Math.abs(calibration.threshold - split.threshold * CALIBRATION_MARGIN) <
      1e-9,
  );
  assert.ok(calibration.threshold > Math.min(...known));
  assert.ok(calibration.threshold < Math.max(...unknown));
});
