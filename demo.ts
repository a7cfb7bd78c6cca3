/**
 * The demo: starts the server (trained on the bundled people in `train/`) and
 * the client on the bundled sample clip, records the annotated video to
 * `out/demo.mp4`, and prints who was recognised.
 *
 * ```sh
 * deno task demo [--input samples/sample.mp4] [--out out/demo.mp4]
 * ```
 *
 * @module
 */

import { parseFlags, runMain, stringFlag } from "./lib/cli/flags.ts";

const ROOT = new URL(".", import.meta.url).pathname;

const HELP = `facezmq demo: server + client on the bundled sample clip.

Usage: deno task demo [--input FILE] [--out FILE]

  --input FILE   the clip (default samples/sample.mp4)
  --out FILE     the annotated recording (default out/demo.mp4)
  -h, --help     this text
`;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
      input: { type: "string", default: `${ROOT}samples/sample.mp4` },
      out: { type: "string", default: "out/demo.mp4" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const out = stringFlag(values, "out")!;
  const dir = out.includes("/") ? out.slice(0, out.lastIndexOf("/")) : ".";
  await Deno.mkdir(dir, { recursive: true });

  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  console.log(
    `demo: starting the server on ${endpoint} (training on ${ROOT}train)...`,
  );
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}server.ts`,
      "--bind",
      endpoint,
      "--train",
      `${ROOT}train`,
      "--stats",
      "0",
    ],
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
  try {
    const lines = server.stdout.pipeThrough(new TextDecoderStream())
      .getReader();
    let seen = "";
    while (!/ready: /.test(seen)) {
      const { value, done } = await lines.read();
      if (done) {
        throw new Error("the server stopped before it was ready (see above)");
      }
      seen += value;
    }
    lines.releaseLock();
    server.stdout.cancel().catch(() => {});
    console.log(`demo: ${seen.trim()}`);

    console.log(
      `demo: sending every frame of ${
        stringFlag(values, "input")
      } and recording ${out}...`,
    );
    const client = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}client.ts`,
        "--connect",
        endpoint,
        "--input",
        stringFlag(values, "input")!,
        "--every-frame",
        "--view",
        "none",
        "--record",
        out,
        "--json",
      ],
      stdout: "piped",
      stderr: "inherit",
      stdin: "null",
    }).output();
    if (client.code !== 0) throw new Error("the client failed (see above)");

    const frames = new TextDecoder().decode(client.stdout).trim().split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) =>
        JSON.parse(line) as { frame: number; faces: { label: string }[] }
      );
    const counts = new Map<string, number>();
    let withFaces = 0;
    for (const frame of frames) {
      if (frame.faces.length > 0) withFaces++;
      for (const label of new Set(frame.faces.map((f) => f.label))) {
        counts.set(label, (counts.get(label) ?? 0) + 1);
      }
    }
    const named = [...counts].filter(([label]) => label !== "unknown")
      .sort((a, b) => b[1] - a[1]);
    console.log(
      `\ndemo: ${frames.length} frames, faces in ${withFaces} of them.`,
    );
    console.log(
      `demo: recognised ${
        named.length
          ? named.map(([label, n]) => `${label} (${n} frames)`).join(", ")
          : "nobody"
      }; unknown faces in ${counts.get("unknown") ?? 0} frames.`,
    );
    console.log(`demo: the annotated video is in ${out}`);
    return 0;
  } finally {
    try {
      server.kill("SIGINT");
    } catch {
      // already stopped
    }
    await server.status;
  }
}

if (import.meta.main) runMain(main);
