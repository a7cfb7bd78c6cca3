/**
 * What a new user meets first, with the real commands: mistakes are one
 * line that says what to do, and the commands say what they use.
 */

import assert from "node:assert/strict";
import {
  freePort,
  runClient,
  runProject,
  stackLines,
  startServer,
} from "../support/processes.ts";

const CLIP = "tests/fixtures/clip/clip.mp4";

/** Asserts a failed run printed exactly one line, an error, and returns it. */
function oneErrorLine(run: { code: number; stderr: string }): string {
  assert.equal(run.code, 1, run.stderr);
  const lines = run.stderr.trim().split("\n");
  assert.equal(lines.length, 1, run.stderr);
  assert.deepEqual(stackLines(run.stderr), []);
  assert.match(lines[0], /^error: /);
  return lines[0];
}

Deno.test("a busy web view port names the port and the ways out", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    const line = oneErrorLine(
      await runClient([
        "--connect",
        `tcp://127.0.0.1:${freePort()}`,
        "--input",
        CLIP,
        "--port",
        String(port),
      ]),
    );
    assert.match(line, new RegExp(`127\\.0\\.0\\.1:${port} is in use`));
    assert.match(line, /--port N, or --view none/);
  } finally {
    listener.close();
  }
});

Deno.test("an endpoint without tcp:// says what an endpoint looks like", async () => {
  for (
    const [command, args] of [
      ["client", ["--connect", "127.0.0.1:5555", "--view", "none"]],
      ["server", ["--bind", "127.0.0.1:5555"]],
      ["worker", ["--connect", "127.0.0.1:5556"]],
    ] as const
  ) {
    const flag = args[0];
    const line = oneErrorLine(await runProject(command, [...args]));
    assert.equal(
      line,
      `error: ${flag} needs an endpoint like tcp://127.0.0.1:5555 ` +
        `(tcp://HOST:PORT or ipc://PATH), not "${args[1]}" ` +
        `(did you mean tcp://${args[1]}?)`,
      command,
    );
  }
});

Deno.test("client --help lists --ffplay, which its errors suggest", async () => {
  const run = await runClient(["--help"]);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /^ {2}--ffplay PATH {10}/m);
});

Deno.test("server --model prints the threshold it uses", async () => {
  const dir = await Deno.makeTempDir({ prefix: "facezmq_first_" });
  try {
    const trained = await runProject("train", [
      "--train",
      "train",
      "--out",
      `${dir}/model.yml`,
      "--threshold",
      "91.5",
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    const server = await startServer([
      "--model",
      `${dir}/model.yml`,
      "--workers",
      "1",
      "--stats",
      "0",
    ]);
    const { code } = await server.stop();
    assert.equal(code, 0, server.output());
    assert.match(
      server.output(),
      /^ready: serving on \S+ with 1 worker, unknown threshold 91\.5 /m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recognize notes a photo without a face on stderr", async () => {
  const photo = "tests/fixtures/images/noise.ppm";
  const run = await runProject("recognize", ["--train", "train", photo]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), `{"file":"${photo}","faces":[]}`);
  assert.match(run.stderr, new RegExp(`^no face found in ${photo}$`, "m"));
});
