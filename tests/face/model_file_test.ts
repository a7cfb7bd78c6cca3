// OpenCV's LBPH YAML model format. The *.yml fixtures were written by native
// OpenCV 4.6 (cv2.face write) with tools/oracle_lbph.py from ORL images
// (AT&T Laboratories Cambridge / Olivetti Research Laboratory).
//
// How "a model saved here loads in cv2.face" is checked: our formatModel of a
// model trained here on the same faces must equal, byte for byte, the file
// cv2 wrote for its own model (so cv2 reads ours exactly as it reads its
// own). When /usr/bin/python3 with cv2.face is present, one more test lets
// cv2 read a file we saved, predict with it, and write it again.

import assert from "node:assert/strict";
import { readImage } from "../../lib/images/image_io.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import {
  formatModel,
  loadModel,
  parseModel,
  saveModel,
} from "../../lib/face/model_file.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);
const LBPH = new URL("lbph/", FIXTURES).pathname;

interface Crop {
  top: number;
  left: number;
  height: number;
  width: number;
}

interface Case {
  radius: number;
  neighbors: number;
  gridX: number;
  gridY: number;
  crop: Crop | null;
  modelFile: string;
  modelTrain: { file: string; label: number }[];
  modelPredictions: { file: string; label: number; distance: number }[];
}

const oracle: { cases: Record<string, Case> } = JSON.parse(
  await Deno.readTextFile(`${LBPH}predictions.json`),
);
const NAMES: Record<number, string> = {
  1: "Ada Lovelace",
  2: "José Núñez",
  3: 'Quote "Q" Person',
  4: "colon: person",
  5: "123",
  6: "back\\slash",
  7: "tab\there",
  8: "plain",
};

async function face(file: string, c: Crop | null) {
  const image = await readImage(new URL(`orl/${file}`, FIXTURES).pathname, {
    grey: true,
  });
  if (c === null) return image;
  const data = new Uint8Array(c.width * c.height);
  for (let r = 0; r < c.height; r++) {
    const start = (c.top + r) * image.width + c.left;
    data.set(image.data.subarray(start, start + c.width), r * c.width);
  }
  return { width: c.width, height: c.height, channels: 1 as const, data };
}

async function trainedLikeOracle(c: Case): Promise<LbphRecognizer> {
  const r = new LbphRecognizer({
    radius: c.radius,
    neighbors: c.neighbors,
    gridX: c.gridX,
    gridY: c.gridY,
  });
  r.train(
    await Promise.all(c.modelTrain.map((t) => face(t.file, c.crop))),
    c.modelTrain.map((t) => t.label),
  );
  for (const [label, name] of Object.entries(NAMES)) {
    r.labelNames.set(Number(label), name);
  }
  return r;
}

for (const [name, c] of Object.entries(oracle.cases)) {
  Deno.test(`model_file ${name}: cv2's model loads and predicts as cv2`, async () => {
    const model = await loadModel(`${LBPH}${c.modelFile}`);
    assert.equal(model.radius, c.radius);
    assert.equal(model.neighbors, c.neighbors);
    assert.equal(model.gridX, c.gridX);
    assert.equal(model.gridY, c.gridY);
    assert.equal(model.threshold, Number.MAX_VALUE);
    assert.deepEqual(model.labels, c.modelTrain.map((t) => t.label));
    assert.deepEqual(
      new Map(Object.entries(NAMES).map(([k, v]) => [Number(k), v])),
      model.labelNames,
    );
    for (const want of c.modelPredictions) {
      const got = model.predict(await face(want.file, c.crop));
      assert.equal(got.label, want.label, want.file);
      assert.ok(
        Math.abs(got.distance - want.distance) <= 1e-9 * want.distance,
        `${want.file}: ${got.distance} vs cv2 ${want.distance}`,
      );
    }
  });

  Deno.test(`model_file ${name}: our file is byte-identical to cv2's`, async () => {
    const text = await Deno.readTextFile(`${LBPH}${c.modelFile}`);
    // Parsed and formatted again...
    assert.equal(formatModel(parseModel(text, c.modelFile)), text);
    // ...and trained here from the same faces.
    assert.equal(formatModel(await trainedLikeOracle(c)), text);
  });
}

Deno.test("model_file: threshold, empty model and wrapped label lists round-trip", () => {
  const r = new LbphRecognizer({
    gridX: 1,
    gridY: 1,
    neighbors: 2,
    threshold: 42.5,
  });
  const empty = parseModel(formatModel(r), "empty");
  assert.equal(empty.size, 0);
  assert.equal(empty.threshold, 42.5);
  const labels = Array.from({ length: 50 }, (_, i) => (i - 10) * 1000003);
  const histograms = labels.map((_, i) =>
    new Float32Array([
      i / 3,
      Math.PI / (i + 1),
      2 ** -14,
      i === 0 ? 1e-30 : 0.1,
    ])
  );
  r.addHistograms(histograms, labels);
  r.labelNames.set(-3, "");
  r.labelNames.set(7, " leading space");
  r.labelNames.set(8, "new\nline 'single'");
  const text = formatModel(r);
  assert.ok(text.split("\n").every((l) => l.length <= 80), "lines are wrapped");
  const back = parseModel(text, "roundtrip");
  assert.deepEqual(back.labels, labels);
  assert.deepEqual(back.histograms, histograms);
  assert.deepEqual(back.labelNames, r.labelNames);
  assert.equal(formatModel(back), text);
  r.labelNames.set(9, "bell\x07");
  assert.throws(() => formatModel(r), /control character/);
});

Deno.test("model_file: saveModel is atomic and leaves no temporary file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = oracle.cases["r3_n6_g5x7"];
    const model = await loadModel(`${LBPH}${c.modelFile}`);
    const path = `${dir}/model.yml`;
    await Deno.writeTextFile(path, "old contents");
    await saveModel(path, model);
    const names = [];
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["model.yml"]);
    assert.equal(
      await Deno.readTextFile(path),
      await Deno.readTextFile(`${LBPH}${c.modelFile}`),
    );
    await assert.rejects(
      saveModel(`${dir}/missing/model.yml`, model),
      (err: Error) =>
        err.message.startsWith(
          `${dir}/missing/model.yml: cannot save the model`,
        ),
    );
    names.length = 0;
    for await (const e of Deno.readDir(dir)) names.push(e.name);
    assert.deepEqual(names, ["model.yml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model_file: bad files give clear errors naming the file", async () => {
  const good = await Deno.readTextFile(`${LBPH}r3_n6_g5x7.yml`);
  const dir = await Deno.makeTempDir();
  try {
    const cases: [string, string | Uint8Array, RegExp][] = [
      [
        "empty.yml",
        "",
        /empty\.yml: not a valid LBPH model file: the file is empty/,
      ],
      [
        "truncated.yml",
        good.slice(0, Math.floor(good.length / 2)),
        /truncated\.yml: .*not closed \(file truncated\?\)/,
      ],
      [
        "no_radius.yml",
        good.replace("   radius: 3\n", ""),
        /no_radius\.yml: .*missing "radius"/,
      ],
      [
        "bad_cols.yml",
        good.replace("cols: 2240", "cols: 2241"),
        /bad_cols\.yml: .*histogram 0 \(line \d+\) is 1x2241 but has 2240 values/,
      ],
      [
        "wrong_size.yml",
        good.replace("neighbors: 6", "neighbors: 5"),
        /wrong_size\.yml: .*histogram 0 has 2240 values but grid 5x7 with 5 neighbors needs 1120/,
      ],
      [
        "bad_number.yml",
        good.replace("0., ", "zero, "),
        /bad_number\.yml: .*histogram 0 \(line \d+\) value \d+ is not a number: "zero"/,
      ],
      [
        "labels.yml",
        good.replace(
          "rows: 4\n      cols: 1\n      dt: i\n      data: [ 1, 2, 3, 4 ]",
          "rows: 3\n      cols: 1\n      dt: i\n      data: [ 1, 2, 3 ]",
        ),
        /labels\.yml: .*4 histograms but 3 labels/,
      ],
      [
        "eigen.yml",
        "%YAML:1.0\n---\nopencv_eigenfaces:\n   threshold: 1.\n   num_components: 0\n",
        /eigen\.yml: .*"opencv_eigenfaces" is not an LBPH model/,
      ],
      ["text.yml", "hello world\n", /text\.yml: .*expected "key: value"/],
      [
        "binary.yml",
        new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46]),
        /binary\.yml: not a text \(YAML\) model file/,
      ],
    ];
    for (const [file, contents, message] of cases) {
      const path = `${dir}/${file}`;
      if (typeof contents === "string") {
        await Deno.writeTextFile(path, contents);
      } else await Deno.writeFile(path, contents);
      await assert.rejects(loadModel(path), message, file);
    }
    await assert.rejects(
      loadModel(`${dir}/nope.yml`),
      /nope\.yml: model file not found/,
    );
    await assert.rejects(loadModel(dir), /is a directory, not a model file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const hasCv2 = (() => {
  try {
    return new Deno.Command("/usr/bin/python3", {
      args: ["-c", "import cv2; cv2.face"],
      stdout: "null",
      stderr: "null",
    }).outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "model_file: cv2.face reads a model we saved and predicts as its own (live oracle)",
  ignore: !hasCv2,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const ours = await trainedLikeOracle(oracle.cases["default"]);
      await saveModel(`${dir}/ours.yml`, ours);
      const run = await new Deno.Command("/usr/bin/python3", {
        args: [
          "tools/oracle_lbph.py",
          "resave",
          `${dir}/ours.yml`,
          `${dir}/cv2.yml`,
        ],
        cwd: new URL("../..", import.meta.url).pathname,
      }).output();
      const out = new TextDecoder().decode(run.stdout);
      assert.ok(run.success, out + new TextDecoder().decode(run.stderr));
      assert.match(out, /predictions identical to cv2's own model: True/);
      assert.deepEqual(
        (await loadModel(`${dir}/cv2.yml`)).histograms,
        ours.histograms,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
