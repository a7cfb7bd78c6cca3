import assert from "node:assert/strict";
import { FaceDetector } from "../../lib/face/detector.ts";
import { readImage } from "../../lib/images/image_io.ts";
import { nameFaces } from "../../lib/face/naming.ts";
import type { RecognizerKind } from "../../lib/face/recognizer.ts";
import {
  findTrainingFace,
  summaryLine,
  trainFromFolder,
} from "../../lib/face/training.ts";

// ORL faces (AT&T Laboratories Cambridge / Olivetti Research Laboratory).
const ORL = new URL("../fixtures/orl/", import.meta.url).pathname;

async function makeFolder(people: Record<string, number[]>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_train_" });
  for (const [person, images] of Object.entries(people)) {
    await Deno.mkdir(`${dir}/${person}`);
    for (const i of images) {
      await Deno.copyFile(
        `${ORL}${person}/${i}.pgm`,
        `${dir}/${person}/${i}.pgm`,
      );
    }
  }
  return dir;
}

Deno.test("whole mode trains on every image as given and names the people", async () => {
  const dir = await makeFolder({ s1: [1, 2, 3], s2: [1, 2, 3], s3: [1, 2] });
  try {
    const warnings: string[] = [];
    const result = await trainFromFolder(dir, {
      faces: "whole",
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual([...result.facesPerPerson], [["s1", 3], ["s2", 3], [
      "s3",
      2,
    ]]);
    assert.equal(result.recognizer.size, 8);
    assert.deepEqual([...result.recognizer.labelNames], [[0, "s1"], [1, "s2"], [
      2,
      "s3",
    ]]);
    // Calibrated from the training set: a finite threshold between the samples.
    assert.ok(result.calibration);
    assert.ok(Number.isFinite(result.recognizer.threshold));
    assert.match(
      summaryLine(result),
      /^trained 3 people, 8 faces \(s1 3, s2 3, s3 2\), unknown threshold [0-9.]+ \(calibrated\)$/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad files are skipped with one warning each naming the file", async () => {
  const dir = await makeFolder({ s1: [1, 2], s2: [1, 2] });
  try {
    await Deno.writeFile(`${dir}/s1/empty.jpg`, new Uint8Array(0));
    await Deno.writeTextFile(`${dir}/s1/notes.png`, "this is not a PNG");
    const jpeg = await Deno.readFile(
      new URL("../fixtures/orl/s1/3.pgm", import.meta.url),
    );
    await Deno.writeFile(`${dir}/s2/truncated.pgm`, jpeg.subarray(0, 500));
    await Deno.mkdir(`${dir}/s2/nested`);
    await Deno.symlink(`${dir}/s2/loop_b`, `${dir}/s2/loop_a`);
    await Deno.symlink(`${dir}/s2/loop_a`, `${dir}/s2/loop_b`);
    await Deno.mkdir(`${dir}/nobody`);
    await Deno.writeTextFile(`${dir}/stray.jpg`, "x");
    await Deno.writeTextFile(
      `${dir}/README.md`,
      "notes beside the people are fine",
    );
    const warnings: string[] = [];
    const result = await trainFromFolder(dir, {
      faces: "whole",
      threshold: 50,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual([...result.facesPerPerson], [["s1", 2], ["s2", 2]]);
    const named = (file: string) => warnings.filter((w) => w.includes(file));
    for (
      const file of [
        "empty.jpg",
        "notes.png",
        "truncated.pgm",
        "nested",
        "loop_a",
        "loop_b",
        "stray.jpg",
      ]
    ) {
      assert.equal(
        named(file).length,
        1,
        `one warning for ${file}: ${warnings.join("\n")}`,
      );
    }
    assert.equal(named("README.md").length, 0);
    assert.equal(named("nobody").length, 1);
    assert.equal(result.recognizer.threshold, 50);
    assert.equal(result.calibration, undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing or empty folder is a clear error", async () => {
  await assert.rejects(
    () => trainFromFolder("/nonexistent/facezmq", { faces: "whole" }),
    /training folder \/nonexistent\/facezmq does not exist/,
  );
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      () => trainFromFolder(dir, { faces: "whole", onWarning: () => {} }),
      /no usable faces in/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("detect mode finds a face in every ORL training image and recognises new photos", async () => {
  const detector = await FaceDetector.create();
  const dir = await makeFolder({
    s1: [1, 2, 3, 4, 5],
    s2: [1, 2, 3, 4, 5],
    s3: [1, 2, 3, 4, 5],
  });
  try {
    const warnings: string[] = [];
    const result = await trainFromFolder(dir, {
      faces: "detect",
      detector,
      onWarning: (w) => warnings.push(w),
    });
    assert.deepEqual(warnings, []);
    assert.deepEqual([...result.facesPerPerson.values()], [5, 5, 5]);
    assert.equal(result.recognizer.size, 15);
    // New photos of the same people (images 6-10), prepared the same way.
    let right = 0;
    for (const person of ["s1", "s2", "s3"]) {
      for (let i = 6; i <= 10; i++) {
        const grey = await readImage(`${ORL}${person}/${i}.pgm`, {
          grey: true,
        });
        const box = findTrainingFace(grey, detector);
        assert.ok(box, `a face in ${person}/${i}.pgm`);
        const [face] = nameFaces(grey, [box], {
          recognizer: result.recognizer,
        });
        if (face.label === person) right++;
      }
    }
    assert.ok(right >= 13, `${right} of 15 new photos named right`);
  } finally {
    detector.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("training makes the recogniser kind it is asked for, through the registry", async () => {
  const dir = await makeFolder({ s1: [1, 2], s2: [1, 2], s3: [1, 2] });
  try {
    await assert.rejects(
      trainFromFolder(dir, {
        faces: "whole",
        recognizer: "eigen" as RecognizerKind,
      }),
      /unknown recogniser "eigen"/,
    );
    let result;
    try {
      result = await trainFromFolder(dir, {
        faces: "whole",
        recognizer: "resnet",
        onWarning: (w) => assert.fail(w),
      });
    } catch (error) {
      assert.match(
        (error as Error).message,
        /^resnet recogniser not available/,
      );
      return;
    }
    const recognizer = result.recognizer;
    assert.equal(recognizer.kind, "resnet");
    assert.equal(recognizer.size, 6);
    assert.deepEqual(recognizer.labels, [0, 0, 1, 1, 2, 2]);
    assert.deepEqual([...recognizer.labelNames.values()], ["s1", "s2", "s3"]);
    assert.ok(result.calibration, "calibrated with the recogniser's distance");
    assert.equal(recognizer.threshold, result.calibration.threshold);
    // A training photo is its own nearest face.
    const photo = await readImage(`${dir}/s2/2.pgm`);
    const whole = { x: 0, y: 0, w: photo.width, h: photo.height };
    const [face] = nameFaces(photo, [whole], {
      recognizer,
      whole: true,
      ambiguity: 1,
    });
    assert.deepEqual([face.label, face.distance], ["s2", 0]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
