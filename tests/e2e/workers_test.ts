import assert from "node:assert/strict";
import {
  type ClientRun,
  freePort,
  runClient,
  startServer,
  startWorker,
} from "../support/processes.ts";
import {
  CLIP_FRAMES,
  clipClientArgs,
  framesOf,
} from "../support/clip_client.ts";

/** Two clients streaming the clip to `endpoint` at once, both succeeded. */
async function twoClients(endpoint: string): Promise<ClientRun[]> {
  const runs = await Promise.all([
    runClient(clipClientArgs(endpoint)),
    runClient(clipClientArgs(endpoint)),
  ]);
  for (const run of runs) assert.equal(run.code, 0, run.stderr);
  return runs;
}

/** Frames each worker reported in `stats:` lines, by worker id. */
function framesPerWorker(log: string): Map<string, number> {
  const totals = new Map<string, number>();
  for (const match of log.matchAll(/per worker: ([#0-9 ]+)/g)) {
    for (const share of match[1].matchAll(/#(\d+) (\d+)/g)) {
      totals.set(share[1], (totals.get(share[1]) ?? 0) + Number(share[2]));
    }
  }
  return totals;
}

Deno.test("two worker threads share the frames of two concurrent clients", async () => {
  const server = await startServer(["--workers", "2", "--stats", "1"]);
  try {
    const [a, b] = await twoClients(server.endpoint);
    const all = [...Array(CLIP_FRAMES).keys()];
    assert.deepEqual(framesOf(a.stdout), all);
    assert.deepEqual(framesOf(b.stdout), all);
    // Workers report every second and the server prints every second: wait
    // for the lines that cover every frame, then check both threads worked.
    let shares = framesPerWorker(server.output());
    const total = () => (shares.get("0") ?? 0) + (shares.get("1") ?? 0);
    for (let i = 0; i < 100 && total() < 2 * CLIP_FRAMES; i++) {
      await new Promise((r) => setTimeout(r, 50));
      shares = framesPerWorker(server.output());
    }
    assert.equal(total(), 2 * CLIP_FRAMES, server.output());
    assert.ok((shares.get("0") ?? 0) > 0, server.output());
    assert.ok((shares.get("1") ?? 0) > 0, server.output());
  } finally {
    await server.stop("SIGINT");
  }
});

Deno.test("remote workers connected to the backend do the work of a server with no threads", async () => {
  const backend = `tcp://127.0.0.1:${freePort()}`;
  const server = await startServer(["--workers", "0", "--backend", backend]);
  const workers = [
    await startWorker(["--connect", backend, "--stats", "1"]),
    await startWorker(["--connect", backend, "--stats", "1"]),
  ];
  try {
    const [a, b] = await twoClients(server.endpoint);
    assert.equal(framesOf(a.stdout).length, CLIP_FRAMES);
    assert.equal(framesOf(b.stdout).length, CLIP_FRAMES);
    // The same people are named as with local workers.
    assert.match(a.stdout, /"label":"s\d"/);
    await new Promise((r) => setTimeout(r, 1500));
    for (const worker of workers) {
      const served = [...worker.output().matchAll(/stats: (\d+) frames/g)]
        .reduce((sum, m) => sum + Number(m[1]), 0);
      assert.ok(
        served > 0,
        `each remote worker served frames:\n${worker.output()}`,
      );
    }
  } finally {
    for (const worker of workers) {
      assert.equal((await worker.stop("SIGINT")).code, 0);
    }
    await server.stop("SIGINT");
  }
});

Deno.test("--workers 0 without --backend is a clear error", async () => {
  await assert.rejects(
    () => startServer(["--workers", "0"]),
    /--workers 0 needs --backend/,
  );
});
