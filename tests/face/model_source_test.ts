import assert from "node:assert/strict";
import { readImage } from "../../lib/images/image_io.ts";
import { saveModel } from "../../lib/face/model_file.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import { obtainModel } from "../../lib/face/model_source.ts";

const ORL = new URL("../fixtures/orl/", import.meta.url).pathname;
const PEOPLE = ["s1", "s2", "s3"];
const IMAGES = [1, 2, 3, 4];

/**
 * A temporary training folder `<dir>/<person>/<n>.pgm` of ORL faces (AT&T
 * Laboratories Cambridge / ORL), plus a README that training must ignore.
 */
async function trainingFolder(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "facezmq-model-source-" });
  for (const person of PEOPLE) {
    await Deno.mkdir(`${dir}/${person}`);
    for (const n of IMAGES) {
      await Deno.copyFile(
        `${ORL}${person}/${n}.pgm`,
        `${dir}/${person}/${n}.pgm`,
      );
    }
  }
  await Deno.writeTextFile(`${dir}/README.md`, "three people\n");
  return dir;
}

Deno.test("obtainModel trains from a folder, logging each person and a summary", async () => {
  const dir = await trainingFolder();
  try {
    const lines: string[] = [];
    const recognizer = await obtainModel({
      train: dir,
      faces: "whole",
      log: (line) => lines.push(line),
    });
    assert.ok(recognizer instanceof LbphRecognizer, "LBPH by default");
    // 12 faces of 3 people, and the 50 bundled strangers' (label -1).
    assert.equal(recognizer.size, 62);
    assert.deepEqual([...recognizer.labelNames.values()].sort(), PEOPLE);
    assert.ok(Number.isFinite(recognizer.threshold), "a calibrated threshold");
    assert.equal(lines[0], `training from ${dir} (whole faces)...`);
    assert.deepEqual(lines.slice(1, 4).sort(), [
      "  s1: 4 faces",
      "  s2: 4 faces",
      "  s3: 4 faces",
    ]);
    assert.match(
      lines[4],
      /^trained 3 people, 12 faces \(s\d 4, s\d 4, s\d 4\); unknown unless nearer than 0\.9 x anybody else and than all 50 stranger faces, and under \d+\.\d \(1\.1 x the farthest stranger's distance\); leave-one-out: \d+% of known faces named, \d+% of strangers unknown$/,
    );
    assert.equal(lines.length, 5, lines.join("\n"));
    // A training face is its own nearest face, at distance 0.
    const face = await readImage(`${dir}/s2/3.pgm`, { grey: true });
    const prediction = recognizer.predict(face);
    assert.equal(recognizer.labelNames.get(prediction.label), "s2");
    assert.equal(prediction.distance, 0);

    const overridden = await obtainModel({
      train: dir,
      faces: "whole",
      threshold: 42.5,
      log: () => {},
    });
    assert.equal(overridden.threshold, 42.5);
    assert.equal(overridden.size, 62);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("obtainModel loads a saved model (before any training folder) and applies the threshold override", async () => {
  const dir = await trainingFolder();
  try {
    const trained = await obtainModel({
      train: dir,
      faces: "whole",
      log: () => {},
    });
    assert.ok(trained instanceof LbphRecognizer);
    const path = `${dir}/model.yml`;
    await saveModel(path, trained);

    const lines: string[] = [];
    const loaded = await obtainModel({
      model: path,
      train: `${dir}/no-such-folder`,
      log: (line) => lines.push(line),
    });
    assert.deepEqual(lines, [
      `loaded model ${path}: 12 faces of 3 people (+50 bundled strangers)`,
    ]);
    assert.ok(loaded instanceof LbphRecognizer, "the kind the file holds");
    assert.equal(loaded.size, trained.size);
    assert.deepEqual(loaded.labels, trained.labels);
    assert.deepEqual([...loaded.labelNames], [...trained.labelNames]);
    assert.equal(loaded.threshold, trained.threshold);
    for (const person of PEOPLE) {
      const face = await readImage(`${ORL}${person}/9.pgm`, { grey: true });
      assert.deepEqual(loaded.predict(face), trained.predict(face), person);
    }

    // The file says its own kind: the option is for training only.
    const asked = await obtainModel({
      model: path,
      recognizer: "resnet",
      log: () => {},
    });
    assert.ok(asked instanceof LbphRecognizer);
    assert.equal(asked.size, 62);

    const overridden = await obtainModel({
      model: path,
      threshold: 7.5,
      log: () => {},
    });
    assert.equal(overridden.threshold, 7.5);
    assert.equal(overridden.size, 62);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("obtainModel names a missing model file or training folder in its error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq-model-source-" });
  try {
    const path = `${dir}/missing.yml`;
    const lines: string[] = [];
    await assert.rejects(
      obtainModel({ model: path, log: (line) => lines.push(line) }),
      (error: Error) => error.message === `${path}: model file not found`,
    );
    assert.deepEqual(lines, []);

    const folder = `${dir}/no-people`;
    await assert.rejects(
      obtainModel({ train: folder, faces: "whole", log: () => {} }),
      (error: Error) => error.message.includes(folder),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
