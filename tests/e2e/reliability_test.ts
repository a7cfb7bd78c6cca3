/**
 * Reliability of the real client and server processes: the client rides out
 * a server that is killed and restarted (Lazy Pirate), gives up cleanly when
 * there is no server, and reports capture faults in one line.
 */

import assert from "node:assert/strict";
import {
  freePort,
  runClient,
  type ServerProcess,
  spawnClient,
  stackLines,
  startServer,
  waitUntil,
} from "../support/processes.ts";
import {
  CLIP,
  CLIP_FRAMES,
  clipClientArgs,
  countMatches,
  facesByFrame,
  framesOf,
} from "../support/clip_client.ts";

Deno.test("client survives the server being killed and restarted mid-stream", async () => {
  const port = freePort();
  const endpoint = `tcp://127.0.0.1:${port}`;
  const serverArgs = ["--bind", endpoint, "--workers", "1", "--stats", "0"];
  let server: ServerProcess | undefined = await startServer(serverArgs);
  const client = spawnClient(streamArgs(endpoint));
  try {
    await waitUntil(() => framesOf(client.stdout()).length >= 10, {
      what: "10 answered frames",
    });
    const killed = await server.stop("SIGKILL");
    assert.notEqual(killed.code, 0, "SIGKILL ends the server abnormally");
    server = undefined;
    const answeredBefore = framesOf(client.stdout()).length;
    assert.ok(answeredBefore < CLIP_FRAMES, "the client was still busy");
    await waitUntil(() => /is not answering/.test(client.stderr()), {
      what: "the client's outage notice",
    });
    server = await startServer(serverArgs);
    const run = await client.finished;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      countMatches(run.stderr, /is not answering/),
      1,
      `one outage notice:\n${run.stderr}`,
    );
    assert.equal(
      countMatches(run.stderr, /is back \(after [\d.]+ s\)/),
      1,
      `one recovery notice:\n${run.stderr}`,
    );
    assert.match(run.stderr, new RegExp(`server at ${endpoint} is not`));
    assert.deepEqual(
      framesOf(run.stdout),
      Array.from({ length: CLIP_FRAMES }, (_, i) => i),
      "every frame answered once, in order",
    );
    const summary = JSON.parse(/summary: (.*)/.exec(run.stderr)![1]);
    assert.ok(summary.reconnects >= 1, run.stderr);
    assert.deepEqual(stackLines(run.stderr), []);
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    if (server) await server.stop("SIGKILL");
  }
});

Deno.test("client with --retries 2 and no server gives up with a clear message", async () => {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const run = await runClient(
    clipClientArgs(endpoint, ["--timeout", "300", "--retries", "2"]),
  );
  assert.notEqual(run.code, 0);
  assert.equal(run.stdout, "", "no frame was answered");
  assert.match(
    run.stderr,
    new RegExp(
      `^error: no reply from ${endpoint} after 3 attempts of 300 ms; is the server running`,
      "m",
    ),
  );
  assert.equal(countMatches(run.stderr, /is not answering/), 1, run.stderr);
  assert.deepEqual(stackLines(run.stderr), [], run.stderr);
});

/** Runs the client against an endpoint nobody serves: it must fail before sending. */
async function captureFault(
  args: string[],
): Promise<{ code: number; stderr: string }> {
  const run = await runClient([
    "--connect",
    `tcp://127.0.0.1:${freePort()}`,
    "--every-frame",
    "--view",
    "none",
    "--timeout",
    "300",
    "--retries",
    "1",
    ...args,
  ]);
  assert.notEqual(run.code, 0, run.stderr);
  assert.deepEqual(stackLines(run.stderr), [], run.stderr);
  assert.doesNotMatch(run.stderr, /is not answering/, "failed before sending");
  return run;
}

Deno.test("capture faults give a one-line error and a non-zero exit", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_faults_" });
  try {
    await t.step("missing input file", async () => {
      const missing = `${dir}/no_such_clip.mp4`;
      const run = await captureFault(["--input", missing]);
      const errors = run.stderr.split("\n").filter((l) =>
        l.startsWith("error: ")
      );
      assert.equal(errors.length, 1, run.stderr);
      assert.ok(errors[0].includes(missing), run.stderr);
    });

    await t.step("a file that is not a video", async () => {
      const text = `${dir}/notes.mp4`;
      await Deno.writeTextFile(text, "this is not a video\n".repeat(100));
      const run = await captureFault(["--input", text]);
      const errors = run.stderr.split("\n").filter((l) =>
        l.startsWith("error: ")
      );
      assert.equal(errors.length, 1, run.stderr);
      assert.ok(errors[0].includes(text), run.stderr);
    });

    await t.step("--ffmpeg pointing nowhere", async () => {
      const run = await captureFault([
        "--input",
        CLIP,
        "--ffmpeg",
        "/nonexistent/ffmpeg",
      ]);
      assert.match(
        run.stderr,
        /^error: ffmpeg not found at \/nonexistent\/ffmpeg \(given with --ffmpeg\)/m,
      );
      assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
    });

    await t.step(
      "--ffmpeg pointing at a program that is not ffmpeg",
      async () => {
        const run = await captureFault([
          "--input",
          CLIP,
          "--ffmpeg",
          "/bin/false",
        ]);
        assert.match(
          run.stderr,
          /^error: \/bin\/false \(given with --ffmpeg\)/m,
        );
        assert.equal(run.stderr.trim().split("\n").length, 1, run.stderr);
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** Client args for streaming the whole clip to `endpoint`, retrying forever. */
function streamArgs(endpoint: string): string[] {
  return clipClientArgs(endpoint, ["--timeout", "500", "--retries", "0"]);
}

/** Checks a finished run: all 60 frames in order, one outage, one recovery. */
function assertRodeOut(run: { code: number; stdout: string; stderr: string }) {
  assert.equal(run.code, 0, run.stderr);
  assert.equal(countMatches(run.stderr, /is not answering/), 1, run.stderr);
  assert.equal(countMatches(run.stderr, /is back \(after/), 1, run.stderr);
  assert.deepEqual(
    framesOf(run.stdout),
    Array.from({ length: CLIP_FRAMES }, (_, i) => i),
  );
  assert.deepEqual(stackLines(run.stderr), []);
}

Deno.test("client survives a frozen server (SIGSTOP, then SIGCONT) without mixing up replies", async () => {
  const server = await startServer(["--workers", "1", "--stats", "0"]);
  // Each frame named on its own (no tracks): with tracks, which faces are
  // recognised depends on when answers came back, so runs differ by design.
  const args = [...streamArgs(server.endpoint), "--no-track"];
  const client = spawnClient(args);
  try {
    await waitUntil(() => framesOf(client.stdout()).length >= 10, {
      what: "10 answered frames",
    });
    Deno.kill(server.child.pid, "SIGSTOP");
    try {
      await waitUntil(() => /is not answering/.test(client.stderr()), {
        what: "the outage notice",
      });
      // Let a few timed-out requests queue up in the frozen server.
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      Deno.kill(server.child.pid, "SIGCONT");
    }
    const run = await client.finished;
    assertRodeOut(run);
    // Each frame got its own answer: the same faces as an undisturbed run.
    const calm = await runClient(args);
    assert.equal(calm.code, 0, calm.stderr);
    assert.deepEqual(facesByFrame(run.stdout), facesByFrame(calm.stdout));
    const { code } = await server.stop("SIGINT");
    assert.equal(code, 0, server.output());
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    await server.stop("SIGKILL");
  }
});

Deno.test("client started before the server waits for it and then streams", async () => {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const client = spawnClient(streamArgs(endpoint));
  let server: ServerProcess | undefined;
  try {
    await waitUntil(() => /is not answering/.test(client.stderr()), {
      what: "the outage notice",
    });
    server = await startServer([
      "--bind",
      endpoint,
      "--workers",
      "1",
      "--stats",
      "0",
    ]);
    assertRodeOut(await client.finished);
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    await server?.stop("SIGKILL");
  }
});
