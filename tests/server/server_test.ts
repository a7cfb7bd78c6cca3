import assert from "node:assert/strict";
import { FrameClient } from "../../lib/client/frame_client.ts";
import { FaceDetector } from "../../lib/face/detector.ts";
import { saveModel } from "../../lib/face/model_file.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import { decodeReply } from "../../lib/protocol/binary.ts";
import { startServer } from "../../lib/server/server.ts";
import { faceRequest } from "../support/frames.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const quiet = () => {};

/** Sends one frame with ORL's s1/1 face in it; returns the labels found. */
async function labelsFrom(endpoint: string): Promise<string[]> {
  const client = new FrameClient(endpoint, { timeout: 10_000, retries: 1 });
  try {
    const parts = await faceRequest(`${ROOT}tests/fixtures/orl/s1/1.pgm`, {
      frameId: 7,
      timestamp: 1,
    });
    const reply = decodeReply(await client.exchange(() => parts));
    assert.equal(reply.kind, "reply");
    if (reply.kind !== "reply") return [];
    assert.equal(reply.frameId, 7);
    return reply.faces.map((f) => f.label);
  } finally {
    await client.close();
  }
}

Deno.test("startServer trains, serves frames on a free port, and closes", async () => {
  const lines: string[] = [];
  const server = await startServer({
    bind: "tcp://127.0.0.1:*",
    train: `${ROOT}train`,
    workers: 1,
    statsSeconds: 0,
    log: (line) => lines.push(line),
  });
  try {
    assert.match(server.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.match(
      server.summary,
      /^serving on tcp:\/\/127\.0\.0\.1:\d+ with 1 worker, unknown threshold [\d.]+ \(started in/,
    );
    assert.match(lines.join("\n"), /trained 4 people/);
    const labels = await labelsFrom(server.endpoint);
    assert.equal(labels.length, 1, JSON.stringify(labels));
  } finally {
    await server.close();
  }
  await server.done;
  await server.close(); // twice is fine
});

Deno.test("startServer with a model file says which threshold it uses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_server_" });
  const detector = await FaceDetector.create();
  try {
    const { recognizer } = await trainFromFolder(`${ROOT}train`, {
      detector,
      threshold: 87.5,
      onWarning: quiet,
    });
    await saveModel(`${dir}/model.yml`, recognizer);
    const server = await startServer({
      bind: "tcp://127.0.0.1:*",
      model: `${dir}/model.yml`,
      workers: 1,
      statsSeconds: 0,
      log: quiet,
    });
    await server.close();
    assert.match(server.summary, /, unknown threshold 87\.5 /);
  } finally {
    detector.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("startServer reports a busy port before training", async () => {
  const first = await startServer({
    bind: "tcp://127.0.0.1:*",
    train: `${ROOT}train`,
    workers: 1,
    statsSeconds: 0,
    log: quiet,
  });
  try {
    const lines: string[] = [];
    await assert.rejects(
      startServer({
        bind: first.endpoint,
        workers: 1,
        log: (l) => lines.push(l),
      }),
      new RegExp(`^Error: cannot listen on ${first.endpoint}: .*in use`),
    );
    assert.deepEqual(lines, [], "no training started");
  } finally {
    await first.close();
  }
});

Deno.test("an aborted signal closes the server", async () => {
  const stop = new AbortController();
  const server = await startServer({
    bind: "tcp://127.0.0.1:*",
    train: `${ROOT}train`,
    workers: 1,
    statsSeconds: 0,
    signal: stop.signal,
    log: quiet,
  });
  const t0 = performance.now();
  stop.abort("SIGTERM");
  await server.done;
  assert.ok(performance.now() - t0 < 1500);
});

Deno.test("startServer refuses no workers without a backend", async () => {
  await assert.rejects(
    startServer({ workers: 0, log: quiet }),
    /without workers needs a backend/,
  );
});
