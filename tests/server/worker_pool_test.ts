import assert from "node:assert/strict";
import {
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";
import { readImage } from "../../lib/images/image_io.ts";
import { decodeReply } from "../../lib/protocol/binary.ts";
import { LbphRecognizer } from "../../lib/face/lbph.ts";
import { unpackRecognizer } from "../../lib/face/recognizers.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import { type WorkerEvent, WorkerPool } from "../../lib/server/worker_pool.ts";
import { faceRequest } from "../support/frames.ts";
import { Context, type Socket } from "../../lib/zmq/zmq.ts";
import { MONITOR_EVENTS, parseMonitorEvent } from "../../lib/zmq/monitor.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const ORL = `${ROOT}tests/fixtures/orl`;

/** A model trained in the server's (detect) mode on the repo's train/. */
async function serverModel() {
  const detector = await FaceDetector.create();
  try {
    const { recognizer } = await trainFromFolder(`${ROOT}train`, {
      detector,
      onWarning: () => {},
    });
    return recognizer;
  } finally {
    detector.close();
  }
}

/**
 * Sends the ORL photo `image` through `backend` as frame `frameId` to a
 * worker and returns the labels of its reply (checked to be that frame's).
 */
async function exchange(
  backend: Socket,
  image: string,
  frameId: number,
): Promise<string[]> {
  // A DEALER talking to REP sends the empty delimiter REQ would add.
  await backend.send([
    new Uint8Array(0),
    ...await faceRequest(`${ORL}/${image}`, { frameId, timestamp: 5 }),
  ], {
    timeout: 5000,
  });
  const [delimiter, ...replyParts] = await backend.receive({
    timeout: 30_000,
  });
  assert.equal(delimiter.length, 0);
  const reply = decodeReply(replyParts);
  assert.equal(reply.kind, "reply");
  if (reply.kind !== "reply") return [];
  assert.equal(reply.frameId, frameId);
  return reply.faces.map((f) => f.label);
}

/** A model of the 20 photos of train/ taken whole (no strangers). */
async function wholeFacesModel() {
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    faces: "whole",
    strangers: false,
    onWarning: () => {},
  });
  return recognizer;
}

Deno.test("pack/unpackRecognizer keeps histograms, labels, names, threshold, parameters and predictions", async () => {
  // Non-default LBPH parameters, so a parameter lost on the way shows.
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    faces: "whole",
    lbph: { radius: 2, neighbors: 6, gridX: 5, gridY: 7 },
    prep: { size: 64, margin: 0.1, equalize: false },
    strangers: false, // the 20 faces of train/ only
    onWarning: () => {},
  });
  assert.ok(recognizer instanceof LbphRecognizer);
  // Through structured clone, as postMessage sends it to a worker.
  const copy = await unpackRecognizer(structuredClone(recognizer.pack()));
  assert.ok(copy instanceof LbphRecognizer);
  assert.deepEqual(
    [copy.radius, copy.neighbors, copy.gridX, copy.gridY],
    [2, 6, 5, 7],
  );
  assert.deepEqual(copy.prep, { size: 64, margin: 0.1, equalize: false });
  assert.equal(copy.threshold, recognizer.threshold);
  assert.ok(Number.isFinite(copy.threshold), "a calibrated threshold");
  assert.equal(copy.size, 20);
  assert.deepEqual(copy.labels, recognizer.labels);
  assert.deepEqual([...copy.labelNames], [...recognizer.labelNames]);
  assert.deepEqual(
    [...copy.labelNames.values()].sort(),
    ["s1", "s2", "s3", "s4"],
  );
  assert.equal(copy.histograms.length, recognizer.histograms.length);
  copy.histograms.forEach((h, i) => {
    assert.deepEqual(h, recognizer.histograms[i], `histogram ${i}`);
  });
  // Faces it was not trained on (images 6-10), of known and unknown people.
  let known = 0;
  for (const person of ["s1", "s2", "s3", "s4", "s5", "s6"]) {
    for (const n of [6, 8, 10]) {
      const face = await readImage(`${ORL}/${person}/${n}.pgm`, {
        grey: true,
      });
      const expected = recognizer.predict(face);
      assert.deepEqual(copy.predict(face), expected, `${person}/${n}`);
      if (expected.label !== -1) known++;
    }
  }
  assert.ok(known > 0, "some faces are named, so labels are compared");
});

Deno.test("a worker thread serves a backend DEALER, reports stats and stops", async () => {
  const recognizer = await serverModel();
  const context = new Context();
  let pool: WorkerPool | undefined;
  try {
    const backend = context.socket("DEALER");
    backend.monitor(
      "inproc://worker-pool-test-monitor",
      MONITOR_EVENTS.accepted | MONITOR_EVENTS.disconnected,
    );
    const monitor = context.socket("PAIR");
    monitor.connect("inproc://worker-pool-test-monitor");
    backend.bind("tcp://127.0.0.1:*");

    const stats: Extract<WorkerEvent, { type: "stats" }>[] = [];
    let gotStats!: () => void;
    const statsArrived = new Promise<void>((resolve) => gotStats = resolve);
    const errors: string[] = [];
    pool = await WorkerPool.start(1, {
      endpoint: backend.lastEndpoint,
      model: recognizer.pack(),
      detect: SERVER_DETECT_OPTIONS,
      statsInterval: 100,
    }, {
      onStats: (event) => {
        stats.push(event);
        gotStats();
      },
      onError: (message) => errors.push(message),
    });
    assert.equal(pool.size, 1);
    const accepted = parseMonitorEvent(
      await monitor.receive({ timeout: 5000 }),
    );
    assert.equal(accepted.event, MONITOR_EVENTS.accepted);

    // ORL s2 image 8: a person in train/ (trained on images 1-5 only),
    // clearly nearer s2 than anybody else (LBPH's ratio rule).
    assert.deepEqual(await exchange(backend, "s2/8.pgm", 17), ["s2"]);

    await statsArrived;
    assert.equal(stats[0].id, 0);
    assert.equal(stats[0].frames, 1);
    assert.equal(stats[0].errors, 0);
    assert.ok(stats[0].sums.detect > 0, JSON.stringify(stats[0].sums));
    assert.ok(stats[0].sums.total >= stats[0].sums.detect);

    await pool.stop();
    assert.equal(pool.size, 0);
    // The worker closed its socket itself (a terminated thread would leave
    // the connection open): the backend sees its peer go.
    const gone = parseMonitorEvent(await monitor.receive({ timeout: 5000 }));
    assert.equal(gone.event, MONITOR_EVENTS.disconnected);
    assert.deepEqual(errors, []);
  } finally {
    pool?.terminate();
    await context.close();
  }
});

Deno.test("a worker thread sharing the test's context serves over inproc", async () => {
  const recognizer = await serverModel();
  const context = new Context();
  let pool: WorkerPool | undefined;
  try {
    const backend = context.socket("DEALER");
    backend.bind("inproc://worker-pool-test-backend");
    pool = await WorkerPool.start(1, {
      endpoint: "inproc://worker-pool-test-backend",
      context: context.address,
      model: recognizer.pack(),
      detect: SERVER_DETECT_OPTIONS,
      statsInterval: 100,
    });
    // ORL s2 image 7: a person in train/ (trained on images 1-5 only).
    assert.deepEqual(await exchange(backend, "s2/7.pgm", 3), ["s2"]);
  } finally {
    // The worker's socket lives in this context: it must be closed (stop)
    // before the context can terminate, or close() would wait for ever.
    await pool?.stop();
    await context.close();
  }
});

Deno.test("unpackRecognizer refuses a packed model whose descriptors do not fit its labels and parameters", async () => {
  const recognizer = await wholeFacesModel();
  const packed = recognizer.pack();
  const n = recognizer.descriptorSize;
  const longer = new Float32Array(packed.descriptors.length + 5);
  longer.set(packed.descriptors);
  const cases: [string, typeof packed, string][] = [
    [
      "short",
      { ...packed, descriptors: packed.descriptors.subarray(0, 19 * n) },
      `${19 * n} descriptor values for 20 faces of ${n} values each`,
    ],
    ["long", { ...packed, descriptors: longer }, `${20 * n + 5} descriptor`],
    [
      "labels",
      { ...packed, labels: packed.labels.slice(0, 3) },
      `${20 * n} descriptor values for 3 faces`,
    ],
    [
      "neighbors",
      { ...packed, params: { ...packed.params, neighbors: 4 } },
      `for 20 faces of ${64 * 16} values each`,
    ],
    [
      "kind",
      { ...packed, kind: "eigen" as typeof packed.kind },
      `unknown recogniser "eigen"`,
    ],
    [
      "params",
      { ...packed, params: { ...packed.params, depth: 3 } },
      `LBPH: unknown parameter "depth"`,
    ],
  ];
  for (const [what, bad, text] of cases) {
    await assert.rejects(
      unpackRecognizer(bad),
      (error: Error) =>
        error.message.startsWith("packed model: ") &&
        error.message.includes(text),
      what,
    );
  }
});

Deno.test("a model with histograms of the wrong length makes start reject with a clear error", async () => {
  const recognizer = await wholeFacesModel();
  const packed = recognizer.pack();
  const n = recognizer.descriptorSize;
  const bad = {
    ...packed,
    descriptors: packed.descriptors.subarray(0, 19 * n),
  };
  const errors: string[] = [];
  const expected = `packed model: ${
    19 * n
  } descriptor values for 20 faces of ${n} values each`;
  await assert.rejects(
    WorkerPool.start(1, {
      endpoint: "tcp://127.0.0.1:1",
      model: bad,
      statsInterval: 100,
    }, { onError: (message) => errors.push(message) }),
    (error: Error) => error.message.startsWith(expected),
  );
  assert.equal(errors.length, 1);
  assert.ok(errors[0].startsWith(`worker 0: ${expected}`), errors[0]);
});
