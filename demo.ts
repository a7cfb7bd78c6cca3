/**
 * The demo: starts the server (trained on the bundled people in `train/`) as
 * a process, runs a client session on the bundled sample clip in this
 * process, records the annotated video to `out/demo.mp4`, and prints who was
 * recognised.
 *
 * ```sh
 * deno task demo [--input samples/sample.mp4] [--out out/demo.mp4] [--recognizer resnet]
 * ```
 *
 * @module
 */

import { dirname } from "node:path";
import {
  choiceFlag,
  type ParsedArgs,
  runCommand,
  stringFlag,
} from "./lib/cli/flags.ts";
import { PROJECT_ROOT, spawnProject } from "./lib/cli/spawn.ts";
import { runSession, type SessionSummary } from "./lib/client/session.ts";

const HELP = `facezmq demo: server + client on the bundled sample clip.

Usage: deno task demo [--input FILE] [--out FILE] [--recognizer lbph|resnet]

  --input FILE   the clip (default samples/sample.mp4)
  --out FILE     the annotated recording (default out/demo.mp4)
  --recognizer lbph|resnet
                 how the server compares faces (default lbph)
  -h, --help     this text
`;

const FLAGS = {
  input: { type: "string", default: `${PROJECT_ROOT}samples/sample.mp4` },
  out: { type: "string", default: "out/demo.mp4" },
  recognizer: { type: "string", default: "lbph" },
} as const;

async function main({ values }: ParsedArgs): Promise<number> {
  const input = stringFlag(values, "input")!;
  const out = stringFlag(values, "out")!;
  const recognizer = choiceFlag(values, "recognizer", ["lbph", "resnet"]);
  await Deno.mkdir(dirname(out), { recursive: true });
  console.log(
    `demo: starting the server (training on ${PROJECT_ROOT}train)...`,
  );
  const server = await spawnProject("server", [
    "--train",
    `${PROJECT_ROOT}train`,
    "--stats",
    "0",
    "--recognizer",
    recognizer,
  ], { onStartupLine: (line) => console.error(line) });
  try {
    console.log(
      `demo: serving on ${server.endpoint}; sending every frame of ${input}, recording ${out}...`,
    );
    const summary = await runSession({
      connect: server.endpoint,
      input,
      everyFrame: true,
      record: out,
    });
    console.log(`\n${demoLines(summary).join("\n")}`);
    console.log(`demo: the annotated video is in ${out}`);
  } finally {
    // SIGTERM is the orderly stop; its output is not shown.
    await server.stop("SIGTERM");
  }
  return 0;
}

/** Who the demo saw, in frames. */
function demoLines(summary: SessionSummary): string[] {
  const named = Object.entries(summary.seen)
    .filter(([label]) => label !== "unknown")
    .sort((a, b) => b[1] - a[1]);
  return [
    `demo: ${summary.frames} frames, faces in ${summary.framesWithFaces} of them.`,
    `demo: recognised ${
      named.length
        ? named.map(([label, n]) => `${label} (${n} frames)`).join(", ")
        : "nobody"
    }; unknown faces in ${summary.seen.unknown ?? 0} frames.`,
  ];
}

if (import.meta.main) runCommand(main, { help: HELP, flags: FLAGS });
