import assert from "node:assert/strict";
import { spawnProject, spawnUntilReady } from "../../lib/cli/spawn.ts";

function program(source: string): string[] {
  return ["eval", "--ext=ts", source];
}

Deno.test("spawnUntilReady gives the endpoint, the startup lines and the output", async () => {
  const startup: string[] = [];
  const child = await spawnUntilReady(
    Deno.execPath(),
    program(`
      console.error("training...");
      console.error("trained 4 people");
      console.log("ready: serving on tcp://127.0.0.1:4242 with 1 worker");
      setTimeout(() => console.error("after ready"), 100);
      setInterval(() => {}, 1000);
    `),
    {
      ready: /^ready: serving on (\S+)/m,
      onStartupLine: (l) => startup.push(l),
    },
  );
  assert.equal(child.endpoint, "tcp://127.0.0.1:4242");
  await new Promise((r) => setTimeout(r, 300));
  const { code, ms } = await child.stop();
  assert.notEqual(code, 0, "killed by SIGTERM");
  assert.ok(ms < 5000);
  assert.deepEqual(startup, ["training...", "trained 4 people"]);
  assert.match(child.output(), /after ready/);
});

Deno.test("spawnUntilReady rejects with the last words of a program that exits first", async () => {
  await assert.rejects(
    spawnUntilReady(
      Deno.execPath(),
      program(
        `console.error("error: --workers 0 needs --backend"); Deno.exit(1);`,
      ),
      { ready: /^ready: (\S+)/m, what: "the server" },
    ),
    /^Error: the server did not start:\nerror: --workers 0 needs --backend$/,
  );
});

Deno.test("spawnUntilReady gives up after its timeout", async () => {
  await assert.rejects(
    spawnUntilReady(
      Deno.execPath(),
      program(`console.log("thinking"); setInterval(() => {}, 1000);`),
      { ready: /^ready: (\S+)/m, timeoutMs: 300 },
    ),
    /did not start within 300 ms:\nthinking$/,
  );
});

Deno.test("spawnProject starts the real server on a free port and stops it with SIGTERM", async () => {
  const server = await spawnProject("server", [
    "--workers",
    "1",
    "--stats",
    "0",
  ]);
  assert.match(server.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const { code } = await server.stop();
  assert.equal(code, 0, server.output());
});
