import assert from "node:assert/strict";
import {
  bestSplit,
  calibrateThreshold,
  calibrateWithStrangers,
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

/** A recogniser of 2-number descriptors (1 neighbour, 1x1 grid). */
function tiny(rows: [number, number][], labels: number[]): LbphRecognizer {
  const recognizer = new LbphRecognizer({ neighbors: 1, gridX: 1, gridY: 1 });
  recognizer.add(rows.map((r) => new Float32Array(r)), labels);
  return recognizer;
}

Deno.test("calibrateWithStrangers puts LBPH's outer bound 1.1 x past the farthest stranger", () => {
  const people: [number, number][] = [[9, 1], [8.5, 1.5], [1, 9], [1.5, 8.5]];
  const strangers: [number, number][] = [[5, 5], [6, 4], [4, 6], [0.3, 9.7]];
  const recognizer = tiny([...people, ...strangers], [
    0,
    0,
    1,
    1,
    -1,
    -1,
    -1,
    -1,
  ]);
  const nearest = strangers.map((s) =>
    Math.min(
      ...people.map((p) =>
        recognizer.distance(new Float32Array(s), new Float32Array(p))
      ),
    )
  );
  const c = calibrateWithStrangers(recognizer);
  assert.equal(c.method, "strangers");
  assert.equal(c.split, Math.max(...nearest));
  assert.equal(c.threshold, 1.1 * Math.max(...nearest));
  assert.equal(c.knownSamples, 4);
  assert.equal(c.unknownSamples, 4);
  // Each known face's twin is nearer than any stranger or the other person.
  assert.equal(c.knownAccepted, 1);
  // [0.3, 9.7] is nearer person 1's [1, 9] than any other stranger: named.
  assert.equal(c.unknownRejected, 3 / 4);
  // As one stranger, each face is judged without the others: only [5, 5],
  // as near one person as the other, stays unknown.
  const grouped = calibrateWithStrangers(recognizer, {
    strangers: [0, 0, 0, 0],
  });
  assert.equal(grouped.unknownRejected, 1 / 4);
});

Deno.test("calibrateWithStrangers follows the rule's source, margin and ceiling", () => {
  const recognizer = tiny(
    [[9, 1], [8, 2], [5, 5], [3, 7]],
    [0, 0, -1, -1],
  );
  const gaps = [[5, 5], [3, 7]].map((s) =>
    Math.min(
      ...[[9, 1], [8, 2]].map((p) =>
        recognizer.distance(new Float32Array(s), new Float32Array(p))
      ),
    )
  );
  const nearest = calibrateWithStrangers(recognizer, {
    thresholdFrom: "nearest stranger",
    thresholdMargin: 1.05,
  });
  assert.equal(nearest.split, Math.min(...gaps));
  assert.equal(nearest.threshold, 1.05 * Math.min(...gaps));
  const capped = calibrateWithStrangers(recognizer, { maxThreshold: 0.5 });
  assert.equal(capped.threshold, 0.5);
  // One photo each: no known sample to judge.
  const single = calibrateWithStrangers(tiny([[9, 1], [5, 5]], [0, -1]));
  assert.equal(single.knownSamples, 0);
  assert.ok(Number.isNaN(single.knownAccepted));
});

Deno.test("calibrateWithStrangers needs strangers and people; the old calibration ignores strangers", () => {
  assert.throws(
    () => calibrateWithStrangers(tiny([[9, 1], [8, 2]], [0, 1])),
    /needs people and strangers/,
  );
  assert.throws(
    () => calibrateWithStrangers(tiny([[9, 1], [8, 2]], [-1, -1])),
    /needs people and strangers/,
  );
  const plain = tiny([[9, 1], [8, 2], [1, 9], [2, 8]], [0, 0, 1, 1]);
  const mixed = tiny(
    [[9, 1], [8, 2], [1, 9], [2, 8], [5, 5], [8.5, 1.5]],
    [0, 0, 1, 1, -1, -1],
  );
  assert.deepEqual(leaveOneOutDistances(mixed), leaveOneOutDistances(plain));
  assert.equal(calibrateThreshold(mixed).method, "training set");
});

Deno.test("with strangers, ORL people are told from ORL strangers leave-one-out", async () => {
  // s1-s6 of the fixtures as people (images 1-5) and s7-s8 as strangers.
  const dir = new URL("../fixtures/orl/", import.meta.url).pathname;
  const recognizer = new LbphRecognizer();
  const faces = [];
  const labels = [];
  const strangers = [];
  for (
    const [p, person] of ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8"]
      .entries()
  ) {
    for (let i = 1; i <= 5; i++) {
      faces.push(await readImage(`${dir}${person}/${i}.pgm`, { grey: true }));
      labels.push(p < 6 ? p : -1);
      if (p >= 6) strangers.push(p);
    }
  }
  recognizer.train(faces, labels);
  const c = calibrateWithStrangers(recognizer, { strangers });
  assert.equal(c.knownSamples, 30);
  assert.equal(c.unknownSamples, 10);
  assert.ok(c.knownAccepted >= 0.9, JSON.stringify(c));
  assert.ok(c.unknownRejected >= 0.8, JSON.stringify(c));
  assert.ok(c.threshold > c.split);
});
