/**
 * `deno task bench`: measures facezmq end to end on a clip (every frame, as
 * fast as it goes, or live at the clip's rate) and, when native OpenCV is at
 * hand, the original Python design on the same clip in the same run. The work is
 * {@linkcode runBench} in lib/measure/bench.ts.
 *
 * ```sh
 * deno task bench [--quick] [--json] [--levers] [--clients 1,2,4] [--workers N]
 * ```
 *
 * @module
 */

import {
  choiceFlag,
  type Flags,
  numberFlag,
  parseFlags,
  runMain,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import { IN_FLIGHT } from "./lib/client/session.ts";
import { SERVER_DETECT_OPTIONS } from "./lib/face/detector.ts";
import { type BenchOptions, runBench } from "./lib/measure/bench.ts";
import {
  formatReport,
  parseTruth,
  type TruthFrame,
} from "./lib/measure/bench_report.ts";

const HELP =
  `facezmq bench: speed and accuracy on a clip, next to the original design.

Usage: deno task bench [options]

  --input FILE           640x480 clip (default samples/sample.mp4)
  --truth FILE           its faces (default: the clip's name with _truth.json;
                         without one, accuracy is not scored)
  --train DIR            people the server learns (default train)
  --frames N             frames per run (default: the whole clip)
  --clients LIST         concurrent clients, e.g. 2,4 (default 4)
  --workers N            server recognition threads (default: cores)
  --in-flight N          frames each client keeps at the server (default ${IN_FLIGHT})
  --send grey|rgb|jpeg   pixels sent (default grey)
  --draw client|server   who draws the boxes (default client)
  --detect-width N       server detection width (default ${SERVER_DETECT_OPTIONS.maxWidth}; 0 = full size)
  --levers               also run one lever at a time: detect width 0/320/240,
                         send grey/rgb/jpeg, draw client/server, 1 and 2 workers

The main run is the client's defaults: it follows faces (version 2 track
hints: settled faces are not recognised, and between full scans the server
looks for faces only around the tracks), every frame of the clip as fast as
answers come. Besides it: --in-flight 1, no tracks (version 1: every frame
detected whole, every face recognised), live (the clip at its own 30 fps,
newest frame only), detection at full size, the clients of --clients at
once, 2 remote worker processes (--workers 0), the resnet recogniser every
frame and live (reported as skipped when it fails), and the original design
(bench/original_server.py as it was, and with facezmq's detection settings).
  --repeat N             run each setting N times, keep the fastest (default 1)
  --quick                a few seconds: 30 frames, the main run only
  --no-original          skip the original Python design
  --python PATH          Python with cv2 (cv2.face) and zmq (default /usr/bin/python3)
  --json                 print one JSON object instead of tables
  -h, --help             this text
`;

const FLAGS = {
  input: { type: "string", default: "samples/sample.mp4" },
  truth: { type: "string" },
  train: { type: "string", default: "train" },
  frames: { type: "string" },
  clients: { type: "string" },
  workers: { type: "string" },
  "in-flight": { type: "string" },
  send: { type: "string", default: "grey" },
  draw: { type: "string", default: "client" },
  "detect-width": { type: "string" },
  levers: { type: "boolean" },
  repeat: { type: "string", default: "1" },
  quick: { type: "boolean" },
  "no-original": { type: "boolean" },
  python: { type: "string", default: "/usr/bin/python3" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, { flags: FLAGS });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const result = await runBench(await benchOptionsFrom(values));
  console.log(values.json ? JSON.stringify(result) : formatReport(result));
  return 0;
}

/** The bench the flags describe, with its clip, people and truth checked. */
async function benchOptionsFrom(values: Flags): Promise<BenchOptions> {
  const quick = values.quick === true;
  const input = stringFlag(values, "input")!;
  const train = stringFlag(values, "train")!;
  for (const [path, what] of [[input, "--input"], [train, "--train"]]) {
    try {
      Deno.statSync(path);
    } catch {
      throw new UsageError(`${what} ${path} does not exist`);
    }
  }
  const clients = parseClients(stringFlag(values, "clients") ?? "4");
  const log = (line: string) => console.error(line);
  const skipOriginal = quick
    ? "--quick"
    : values["no-original"]
    ? "--no-original"
    : undefined;
  return {
    input,
    truth: await readTruth(values, input, log),
    train,
    frames: numberFlag(values, "frames", { min: 1, integer: true }) ??
      (quick ? 30 : Infinity),
    base: {
      workers:
        numberFlag(values, "workers", { min: 1, max: 64, integer: true }) ??
          Math.max(1, navigator.hardwareConcurrency || 1),
      detectWidth: numberFlag(values, "detect-width", {
        min: 0,
        max: 4096,
        integer: true,
      }) ?? SERVER_DETECT_OPTIONS.maxWidth,
      send: choiceFlag(values, "send", ["grey", "rgb", "jpeg"]),
      draw: choiceFlag(values, "draw", ["client", "server"]),
      inFlight: numberFlag(values, "in-flight", {
        min: 1,
        max: 64,
        integer: true,
      }) ?? IN_FLIGHT,
    },
    clients: quick ? [1] : clients,
    quick,
    levers: values.levers === true,
    repeat: numberFlag(values, "repeat", { min: 1, max: 20, integer: true })!,
    python: skipOriginal ? null : stringFlag(values, "python")!,
    skipOriginal,
    log,
  };
}

/**
 * The clip's truth: `--truth`, else the clip's name with `_truth.json`;
 * without one (a clip of your own) speed is still measured.
 */
async function readTruth(
  values: Flags,
  input: string,
  log: (line: string) => void,
): Promise<TruthFrame[]> {
  const given = stringFlag(values, "truth");
  const path = given ?? input.replace(/\.[^./]+$/, "") + "_truth.json";
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (given !== undefined || !(error instanceof Deno.errors.NotFound)) {
      throw new UsageError(
        `cannot read the clip's truth ${path}: ${(error as Error).message}`,
      );
    }
    log(`no ${path}: accuracy is not scored (give a truth with --truth)`);
    return [];
  }
  return parseTruth(text, path);
}

/** Parses `1,2,4`. */
function parseClients(text: string): number[] {
  const list = text.split(",").map((part) => Number(part.trim()));
  if (
    list.length === 0 ||
    list.some((n) => !Number.isInteger(n) || n < 1 || n > 64)
  ) {
    throw new UsageError(
      `--clients needs whole numbers from 1 to 64 separated by commas, e.g. 1,2,4, not "${text}"`,
    );
  }
  return list;
}

if (import.meta.main) runMain(main);
