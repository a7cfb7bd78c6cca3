import assert from "node:assert/strict";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import { runClient, stackLines, startServer } from "../support/processes.ts";

/**
 * An "ffmpeg" that streams one second of its input and then dies with exit
 * code 1, as a camera that is unplugged or a stream that breaks would.
 */
async function dyingFfmpeg(dir: string): Promise<string> {
  const real = await findFfmpeg(); // the system's, or the npm package's
  const path = `${dir}/ffmpeg`;
  await Deno.writeTextFile(
    path,
    `#!/bin/sh
case " $* " in *" -version "*) exec ${real} "$@";; esac
${real} -t 1 "$@"
exit 1
`,
  );
  await Deno.chmod(path, 0o755);
  return path;
}

Deno.test({
  name:
    "a live source that dies mid-stream: an error without --reconnect, reopened with it",
  // The stand-in is a shell script.
  ignore: Deno.build.os === "windows",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "facezmq_reconnect_" });
    const server = await startServer(["--workers", "1"]);
    try {
      const ffmpeg = await dyingFfmpeg(dir);
      const common = [
        "--connect",
        server.endpoint,
        "--input",
        "tests/fixtures/clip/clip.mp4", // played live, at its own rate
        "--view",
        "none",
        "--json",
        "--ffmpeg",
        ffmpeg,
      ];
      const broken = await runClient(common);
      assert.equal(broken.code, 1, broken.stderr);
      assert.match(broken.stderr, /^error: .*ffmpeg/im);
      assert.deepEqual(stackLines(broken.stderr), []);

      const rescued = await runClient([
        ...common,
        "--reconnect",
        "--frames",
        "40",
      ]);
      assert.equal(rescued.code, 0, rescued.stderr);
      assert.equal(rescued.stdout.trim().split("\n").length, 40);
      assert.match(
        rescued.stderr,
        /capture failed: ffmpeg stopped with exit code 1[\s\S]*reconnecting in 1 s/,
      );
    } finally {
      await server.stop("SIGINT");
      await Deno.remove(dir, { recursive: true });
    }
  },
});
