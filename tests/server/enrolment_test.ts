import assert from "node:assert/strict";
import { loadModel, saveModel } from "../../lib/face/model_file.ts";
import type { Recognizer } from "../../lib/face/recognizer.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import { encodeJpeg, readImage } from "../../lib/images/image_io.ts";
import { decodeReply } from "../../lib/protocol/binary.ts";
import {
  decodeEnrolReply,
  encodeEnrolRequest,
  ENROL_ELSEWHERE,
  type EnrolFace,
} from "../../lib/protocol/enrol.ts";
import {
  type AddFaces,
  type EnrolAnswer,
  type EnrolAsk,
  enrolmentFolder,
  Enrolments,
  WorkerEnrolment,
} from "../../lib/server/enrolment.ts";
import { FrameHandler } from "../../lib/server/frame_handler.ts";
import { FaceDetector } from "../../lib/face/detector.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ORL = `${ROOT}tests/fixtures/orl`;

/** LBPH on train/ in whole mode: no detector needed. */
async function recogniser(): Promise<Recognizer> {
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    faces: "whole",
    onWarning: () => {},
  });
  return recognizer;
}

/** ORL photos of `person` as enrol faces (the whole photo is the face). */
async function orlFaces(
  person: string,
  images: number[],
): Promise<EnrolFace[]> {
  const faces: EnrolFace[] = [];
  for (const n of images) {
    const image = await readImage(`${ORL}/${person}/${n}.pgm`);
    faces.push({
      jpeg: encodeJpeg(image, { quality: 95 }),
      box: { x: 0, y: 0, w: image.width, h: image.height },
    });
  }
  return faces;
}

/** Descriptors of some photos of `person` (default s5), as a worker thread would send them. */
async function s5Ask(
  recognizer: Recognizer,
  images: number[],
  person = "s5",
): Promise<EnrolAsk> {
  const descriptors: Float32Array[] = [];
  const jpegs: Uint8Array[] = [];
  for (const n of images) {
    const image = await readImage(`${ORL}/${person}/${n}.pgm`, {
      grey: true,
    });
    descriptors.push(
      recognizer.describe(image, { x: 0, y: 0, w: 92, h: 112 })!,
    );
    jpegs.push(encodeJpeg(image));
  }
  return { name: person, descriptors, jpegs };
}

async function listJpegs(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("Enrolments: a new name gets the next label, its photos and the workers' faces", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrolment_" });
  try {
    const recognizer = await recogniser();
    const sizeBefore = recognizer.size;
    const broadcasts: AddFaces[] = [];
    const lines: string[] = [];
    const enrolments = new Enrolments(recognizer, {
      folder: dir,
      broadcast: (add) => {
        broadcasts.push(add);
        return Promise.resolve();
      },
      log: (line) => lines.push(line),
    });
    const answer = await enrolments.enrol(await s5Ask(recognizer, [1, 2, 3]));
    assert.deepEqual(answer, {
      ok: true,
      label: 4,
      added: 3,
      faces: 3,
      people: 5,
      newPerson: true,
    });
    assert.equal(recognizer.size, sizeBefore + 3);
    assert.equal(recognizer.labelNames.get(4), "s5");
    assert.equal(broadcasts.length, 1);
    assert.equal(broadcasts[0].label, 4);
    assert.equal(broadcasts[0].descriptors.length, 3);
    const files = await listJpegs(`${dir}/s5`);
    assert.equal(files.length, 3, `${files}`);
    for (const file of files) assert.match(file, /^enrol_\w+_0[123]\.jpg$/);
    assert.match(lines.join("\n"), /enrolled "s5" \(label 4, new\): 3 faces/);

    // The same name again: same label, more faces; another name, next label.
    const [again, other] = await Promise.all([
      enrolments.enrol(await s5Ask(recognizer, [4, 5])),
      enrolments.enrol({
        ...(await s5Ask(recognizer, [1], "s6")),
        name: "Zoë",
      }),
    ]);
    assert.deepEqual(again, {
      ok: true,
      label: 4,
      added: 2,
      faces: 5,
      people: 5,
      newPerson: false,
    });
    assert.ok(other.ok && other.label === 5 && other.newPerson);
    assert.equal((await listJpegs(`${dir}/s5`)).length, 5);
    assert.equal((await listJpegs(`${dir}/Zoë`)).length, 1);
    // A face of s5 not enrolled is now nearest to s5.
    const probe = await readImage(`${ORL}/s5/9.pgm`, { grey: true });
    const nearest = recognizer.nearestTwo(
      recognizer.describe(probe, { x: 0, y: 0, w: 92, h: 112 })!,
    );
    assert.equal(nearest.best.label, 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Enrolments with a model file: photos beside it, the file rewritten with its own threshold", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrolment_" });
  try {
    const model = `${dir}/model.yml`;
    const trained = await recogniser();
    trained.threshold = 77.5;
    await saveModel(model, trained);
    const recognizer = await loadModel(model);
    recognizer.threshold = 50; // a --threshold override is not saved
    assert.equal(enrolmentFolder({ model }), `${model}.faces`);
    assert.equal(enrolmentFolder({ train: "people" }), "people");
    assert.equal(enrolmentFolder({}), "train");
    const enrolments = new Enrolments(recognizer, {
      folder: enrolmentFolder({ model }),
      model,
      broadcast: () => Promise.resolve(),
      log: () => {},
    });
    const answer = await enrolments.enrol(await s5Ask(recognizer, [1, 2]));
    assert.ok(answer.ok);
    assert.equal((await listJpegs(`${model}.faces/s5`)).length, 2);
    const reloaded = await loadModel(model);
    assert.equal(reloaded.size, trained.size + 2);
    assert.equal(reloaded.labelNames.get(4), "s5");
    assert.equal(reloaded.threshold, 77.5);
    // No temporary file is left behind.
    assert.deepEqual(
      (await listJpegs(dir)).filter((n) => n.includes("tmp")),
      [],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Enrolments: a failure to save adds nothing and leaves no photo", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_enrolment_" });
  try {
    const recognizer = await recogniser();
    const size = recognizer.size;
    let broadcasts = 0;
    const lines: string[] = [];
    const options = {
      broadcast: () => {
        broadcasts++;
        return Promise.resolve();
      },
      log: (line: string) => lines.push(line),
    };
    // The folder is a file.
    await Deno.writeTextFile(`${dir}/file`, "");
    const blocked = new Enrolments(recognizer, {
      ...options,
      folder: `${dir}/file`,
    });
    const answer = await blocked.enrol(await s5Ask(recognizer, [1]));
    assert.deepEqual(answer, {
      ok: false,
      message: "the server could not save the faces (its log says why)",
    });
    // The model cannot be read: the photos written first go again.
    const noModel = new Enrolments(recognizer, {
      ...options,
      folder: `${dir}/faces`,
      model: `${dir}/missing.yml`,
    });
    assert.equal(
      (await noModel.enrol(await s5Ask(recognizer, [1, 2]))).ok,
      false,
    );
    assert.deepEqual(await listJpegs(`${dir}/faces/s5`), []);
    assert.equal(recognizer.size, size);
    assert.equal(recognizer.labelNames.has(4), false);
    assert.equal(broadcasts, 0);
    assert.match(lines.join("\n"), /enrolment of "s5" failed, nothing added/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("WorkerEnrolment: describes the crops, waits for the main thread, replies", async () => {
  const recognizer = await recogniser();
  const asks: EnrolAsk[] = [];
  let answer: EnrolAnswer = {
    ok: true,
    label: 4,
    added: 2,
    faces: 2,
    people: 5,
    newPerson: true,
  };
  const enrolment = new WorkerEnrolment(recognizer, {
    allowed: true,
    ask: (ask) => {
      asks.push(ask);
      return Promise.resolve(answer);
    },
  });
  const faces = await orlFaces("s5", [1, 2]);
  const parts = encodeEnrolRequest({
    kind: "enrol",
    requestId: 9,
    name: "s5",
    faces,
  });
  const handled = await enrolment.handle(parts);
  assert.ok(handled.ok, handled.error);
  assert.deepEqual(decodeEnrolReply(handled.reply), {
    kind: "enrolled",
    requestId: 9,
    name: "s5",
    label: 4,
    added: 2,
    faces: 2,
    people: 5,
    newPerson: true,
  });
  assert.equal(asks.length, 1);
  assert.equal(asks[0].descriptors.length, 2);
  assert.deepEqual(asks[0].jpegs[1], faces[1].jpeg);
  // The descriptor of the face in the JPEG is that of its photo, not another's.
  const described = async (n: number) =>
    recognizer.describe(
      await readImage(`${ORL}/s5/${n}.pgm`, { grey: true }),
      faces[0].box,
    )!;
  const own = recognizer.distance(asks[0].descriptors[0], await described(1));
  const other = recognizer.distance(asks[0].descriptors[0], await described(2));
  assert.ok(
    own < other / 2,
    `JPEG crop vs its photo ${own}, vs another ${other}`,
  );

  // The main thread could not save: an INTERNAL error reply with its reason.
  answer = { ok: false, message: "the server could not save the faces" };
  const failed = decodeEnrolReply((await enrolment.handle(parts)).reply);
  assert.deepEqual(failed, {
    kind: "error",
    code: "INTERNAL",
    message: "the server could not save the faces",
  });

  // A crop that has a JPEG header but no image.
  const broken = encodeEnrolRequest({
    kind: "enrol",
    requestId: 1,
    name: "s5",
    faces: [{
      jpeg: faces[0].jpeg.slice(0, 200),
      box: faces[0].box,
    }],
  });
  const corrupt = decodeEnrolReply((await enrolment.handle(broken)).reply);
  assert.equal(corrupt.kind === "error" && corrupt.code, "CORRUPT_JPEG");
  assert.equal(asks.length, 2);
});

Deno.test("WorkerEnrolment refuses when the server does not allow enrolment; remote workers refuse too", async () => {
  const recognizer = await recogniser();
  const refused: (string | undefined)[] = [];
  const enrolment = new WorkerEnrolment(recognizer, {
    allowed: false,
    ask: () => {
      throw new Error("never asked");
    },
    onRefused: (name) => refused.push(name),
  });
  const parts = encodeEnrolRequest({
    kind: "enrol",
    requestId: 1,
    name: "mallory",
    faces: await orlFaces("s6", [1]),
  });
  const reply = decodeEnrolReply((await enrolment.handle(parts)).reply);
  assert.equal(reply.kind, "error");
  if (reply.kind !== "error") return;
  assert.equal(reply.code, "ENROL_REFUSED");
  assert.match(reply.message, /--allow-enrol/);
  assert.deepEqual(refused, ["mallory"]);
  assert.equal(recognizer.labelNames.size, 4);

  // A FrameHandler alone (a remote worker) cannot enrol.
  const detector = await FaceDetector.create();
  try {
    const handled = new FrameHandler(detector, recognizer).handle(parts);
    assert.equal(handled.ok, false);
    const error = decodeReply(handled.reply);
    assert.equal(error.kind, "error");
    if (error.kind !== "error") return;
    assert.equal(error.code, "ENROL_REFUSED");
    assert.ok(error.message.startsWith(ENROL_ELSEWHERE), error.message);
  } finally {
    detector.close();
  }
});
