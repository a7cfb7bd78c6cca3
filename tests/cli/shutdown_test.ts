import assert from "node:assert/strict";
import { spawnUntilReady } from "../../lib/cli/spawn.ts";

const SHUTDOWN = new URL("../../lib/cli/shutdown.ts", import.meta.url).href;

/** A program that waits for onShutdown's signal, then says why it stopped. */
const PROGRAM = `
import { onShutdown } from "${SHUTDOWN}";
using shutdown = onShutdown({ log: (line) => console.error(line) });
console.log("ready: waiting on nothing");
await new Promise((r) => shutdown.signal.addEventListener("abort", r));
console.log("stopped by " + shutdown.signal.reason);
`;

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test({
    name: `onShutdown turns ${signal} into an abort with the signal's name`,
    ignore: Deno.build.os === "windows",
    fn: async () => {
      const child = await spawnUntilReady(Deno.execPath(), [
        "eval",
        "--ext=ts",
        PROGRAM,
      ], { ready: /^ready: waiting on (\S+)/m });
      const { code } = await child.stop(signal);
      assert.equal(code, 0, child.output());
      assert.match(
        child.output(),
        new RegExp(`^${signal}: shutting down$`, "m"),
      );
      assert.match(child.output(), new RegExp(`^stopped by ${signal}$`, "m"));
    },
  });
}
