/**
 * Shutdown of the real processes: the server exits with code 0 soon after
 * SIGINT or SIGTERM, idle or busy; a recording client stopped with SIGINT
 * leaves a playable file and no ffmpeg behind; a client waiting for an absent
 * server stops at once.
 */

import assert from "node:assert/strict";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import { probeVideo } from "../support/video.ts";
import {
  childPids,
  type ClientProcess,
  type ClientRun,
  freePort,
  spawnClient,
  stackLines,
  startServer,
  waitUntil,
} from "../support/processes.ts";
import { CLIP, clipClientArgs } from "../support/clip_client.ts";

/** The ffmpeg the client uses: on PATH, else the npm package's (a fresh machine). */
const FFMPEG = await findFfmpeg();
/** Generous bounds: they catch a wedged process, not a slow one. */
const SERVER_EXIT_MS = 1500;
const CLIENT_EXIT_MS = 3000;

/** SIGINT to `client`: it exits cleanly, soon, without a stack trace. */
async function interrupt(client: ClientProcess): Promise<ClientRun> {
  const t0 = performance.now();
  client.kill("SIGINT");
  const run = await client.finished;
  const ms = performance.now() - t0;
  assert.equal(run.code, 0, run.stderr);
  assert.ok(ms < CLIENT_EXIT_MS, `exited ${ms.toFixed(0)} ms after SIGINT`);
  assert.deepEqual(stackLines(run.stderr), [], run.stderr);
  return run;
}

function jsonLines(stdout: string): number {
  return stdout.split("\n").filter((l) => l.startsWith("{")).length;
}

/** True while process `pid` exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`idle server exits with code 0 soon after ${signal}`, async () => {
    const server = await startServer(["--workers", "2", "--stats", "0"]);
    const { code, ms } = await server.stop(signal);
    assert.equal(code, 0, server.output());
    assert.ok(
      ms < SERVER_EXIT_MS,
      `exited ${ms.toFixed(0)} ms after ${signal}`,
    );
    assert.match(server.output(), new RegExp(`${signal}: shutting down`));
    assert.deepEqual(stackLines(server.output()), []);
  });
}

Deno.test("busy server exits with code 0 soon after SIGTERM", async () => {
  const server = await startServer(["--workers", "2", "--stats", "0"]);
  const client = spawnClient(
    clipClientArgs(server.endpoint, ["--retries", "0"]),
  );
  try {
    await waitUntil(() => jsonLines(client.stdout()) >= 5, {
      what: "the client's first frames",
    });
    const { code, ms } = await server.stop("SIGTERM");
    assert.equal(code, 0, server.output());
    assert.ok(ms < SERVER_EXIT_MS, `exited ${ms.toFixed(0)} ms after SIGTERM`);
    assert.deepEqual(stackLines(server.output()), [], server.output());
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    await server.stop("SIGKILL");
  }
});

Deno.test("SIGINT to a recording client exits 0 and leaves a playable file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_record_" });
  const out = `${dir}/out.mp4`;
  const server = await startServer(["--workers", "2", "--stats", "0"]);
  // No --every-frame: the file plays at its own rate, like a camera.
  const client = spawnClient([
    "--connect",
    server.endpoint,
    "--input",
    CLIP,
    "--json",
    "--view",
    "none",
    "--record",
    out,
  ]);
  try {
    await waitUntil(() => jsonLines(client.stdout()) >= 8, {
      what: "the client's first frames",
    });
    const children = childPids(client.child.pid);
    assert.ok(children.length >= 1, "ffmpeg runs under the client");
    const run = await interrupt(client);
    const answered = jsonLines(run.stdout);
    assert.ok(answered < 60, "stopped before the clip's end");
    const recorded = Number(/recorded (\d+) frames to /.exec(run.stderr)?.[1]);
    assert.equal(recorded, answered, run.stderr);
    assert.deepEqual(
      children.filter(running),
      [],
      "no ffmpeg left running",
    );

    const info = await probeVideo(out, { ffmpeg: FFMPEG });
    assert.equal(info.width, 640);
    assert.equal(info.height, 480);
    assert.ok(info.frames > 0, JSON.stringify(info));
    assert.equal(info.frames, recorded, JSON.stringify(info));
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    await server.stop("SIGKILL");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("SIGINT to a client waiting for an absent server exits 0 at once", async () => {
  const client = spawnClient([
    "--connect",
    `tcp://127.0.0.1:${freePort()}`,
    "--input",
    CLIP,
    "--json",
    "--view",
    "none",
    "--retries",
    "0",
    "--timeout",
    "400",
  ]);
  try {
    await waitUntil(() => /is not answering/.test(client.stderr()), {
      what: "the outage notice",
    });
    const children = childPids(client.child.pid);
    const run = await interrupt(client);
    assert.equal(run.stdout, "");
    assert.deepEqual(children.filter(running), [], "no ffmpeg left running");
  } finally {
    client.kill("SIGKILL");
    await client.finished;
  }
});
