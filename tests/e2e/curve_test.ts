/**
 * CURVE end to end with the real commands: keys made by keys.ts, a server
 * that admits only listed client keys, and clients with a listed key, an
 * unlisted key and no encryption at all.
 */

import assert from "node:assert/strict";
import { readKeyFile } from "../../lib/zmq/curve.ts";
import {
  makeKeys,
  runClient,
  spawnClient,
  stackLines,
  startServer,
} from "../support/processes.ts";
import { CLIP, clipClientArgs, framesOf } from "../support/clip_client.ts";

Deno.test("CURVE: a listed client is served, an unknown key and a plaintext client get nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_curve_" });
  const allowedDir = `${dir}/allowed`;
  await Deno.mkdir(allowedDir);
  const server = await makeKeys("server", dir);
  const alice = await makeKeys("alice", dir);
  const mallory = await makeKeys("mallory", dir);
  await Deno.copyFile(alice.publicPath, `${allowedDir}/alice.pub`);
  const alicePublic = await readKeyFile(alice.publicPath);
  const malloryPublic = await readKeyFile(mallory.publicPath);

  const serverProcess = await startServer([
    "--curve-secret",
    server.secretPath,
    "--allow-clients",
    allowedDir,
    "--workers",
    "1",
    "--stats",
    "0",
  ]);
  const common = clipClientArgs(serverProcess.endpoint);
  const aliceArgs = [
    ...common,
    "--curve-server-key",
    server.publicPath,
    "--curve-secret",
    alice.secretPath,
  ];
  const aliceRun = spawnClient(aliceArgs);
  try {
    assert.match(
      serverProcess.output(),
      /CURVE public key \S+ \(1 allowed clients\)/,
    );
    // While alice streams the clip, two intruders try their luck.
    const [intruder, plaintext] = await Promise.all([
      runClient([
        ...common,
        "--timeout",
        "500",
        "--retries",
        "1",
        "--curve-server-key",
        server.publicPath,
        "--curve-secret",
        mallory.secretPath,
      ]),
      runClient([...common, "--timeout", "500", "--retries", "1"]),
    ]);
    for (
      const [who, run] of [["unknown key", intruder], [
        "plaintext",
        plaintext,
      ]] as const
    ) {
      assert.notEqual(run.code, 0, `${who}: ${run.stderr}`);
      assert.equal(run.stdout, "", `${who} got no reply`);
      assert.match(
        run.stderr,
        /^error: no reply from \S+ after 2 attempts of 500 ms/m,
        who,
      );
      assert.deepEqual(stackLines(run.stderr), [], who);
    }

    const served = await aliceRun.finished;
    assert.equal(served.code, 0, served.stderr);
    assert.deepEqual(
      framesOf(served.stdout),
      Array.from({ length: 60 }, (_, i) => i),
    );
    assert.doesNotMatch(served.stderr, /not answering/);

    const log = serverProcess.output();
    assert.match(
      log,
      new RegExp(
        `refused CURVE client from 127\\.0\\.0\\.1 with key ${
          malloryPublic.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
        }`,
      ),
      log,
    );
    assert.ok(!log.includes(alicePublic), "alice was never refused");
    // The plaintext client never reaches the key check; the handshake monitor logs it.
    assert.match(
      log,
      /refused a client: it does not use CURVE \(a plaintext client\)/,
      log,
    );

    // The server carries on: alice is served again after the refusals.
    const again = await runClient([...aliceArgs, "--frames", "3"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(framesOf(again.stdout), [0, 1, 2]);
  } finally {
    aliceRun.kill("SIGKILL");
    await aliceRun.finished;
    const { code } = await serverProcess.stop("SIGINT");
    await Deno.remove(dir, { recursive: true });
    assert.equal(code, 0, serverProcess.output());
  }
});

Deno.test("CURVE: a public key given as a secret key is refused with a clear error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_curve_" });
  try {
    const server = await makeKeys("server", dir);
    const alice = await makeKeys("alice", dir);
    // startServer throws with the output when no ready line comes.
    let serverErr = "";
    try {
      const started = await startServer(["--curve-secret", server.publicPath]);
      await started.stop("SIGKILL");
    } catch (error) {
      serverErr = (error as Error).message;
    }
    assert.match(
      serverErr,
      /^error: \S+server\.pub is a PUBLIC key file: --curve-secret wants a secret key/m,
    );
    assert.deepEqual(stackLines(serverErr), []);

    const clientRun = await runClient([
      "--connect",
      "tcp://127.0.0.1:9",
      "--input",
      CLIP,
      "--view",
      "none",
      "--curve-server-key",
      server.publicPath,
      "--curve-secret",
      alice.publicPath,
    ]);
    assert.equal(clientRun.code, 1, clientRun.stderr);
    assert.match(
      clientRun.stderr,
      /^error: \S+alice\.pub is a PUBLIC key file/m,
    );
    assert.deepEqual(stackLines(clientRun.stderr), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
