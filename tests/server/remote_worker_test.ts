import assert from "node:assert/strict";
import { FrameClient } from "../../lib/client/frame_client.ts";
import { decodeReply } from "../../lib/protocol/binary.ts";
import { startRemoteWorker } from "../../lib/server/remote_worker.ts";
import { startServer } from "../../lib/server/server.ts";
import { faceRequest } from "../support/frames.ts";
import { freePort } from "../support/processes.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const quiet = () => {};

Deno.test("a remote worker serves the frames of a server without threads", async () => {
  const backend = `tcp://127.0.0.1:${freePort()}`;
  const server = await startServer({
    bind: "tcp://127.0.0.1:*",
    train: `${ROOT}train`,
    workers: 0,
    backend,
    statsSeconds: 0,
    log: quiet,
  });
  const stop = new AbortController();
  const lines: string[] = [];
  const worker = await startRemoteWorker(backend, {
    train: `${ROOT}train`,
    statsSeconds: 0.2,
    signal: stop.signal,
    log: (line) => lines.push(line),
  });
  const client = new FrameClient(server.endpoint, {
    timeout: 10_000,
    retries: 1,
  });
  try {
    assert.match(
      worker.summary,
      new RegExp(`^worker connected to ${backend}, unknown threshold [\\d.]+$`),
    );
    const parts = await faceRequest(`${ROOT}tests/fixtures/orl/s2/1.pgm`, {
      frameId: 3,
      timestamp: 1,
    });
    const reply = decodeReply(await client.exchange(() => parts));
    assert.equal(reply.kind, "reply");
    assert.equal(reply.kind === "reply" && reply.faces.length, 1);
    await new Promise((r) => setTimeout(r, 400));
    assert.match(lines.join("\n"), /^stats: 1 frames, /m);
  } finally {
    await client.close();
    stop.abort();
    await worker.done;
    await server.close();
  }
});
