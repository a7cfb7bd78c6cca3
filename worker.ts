/**
 * A remote recognition worker: connects to a server's backend endpoint and
 * serves frames the server hands it, so capacity grows by starting workers
 * on other machines.
 *
 * ```sh
 * deno task server --backend tcp://0.0.0.0:5556        # on the server
 * deno task worker --connect tcp://SERVER:5556         # on each extra machine
 * ```
 *
 * @module
 */

import {
  choiceFlag,
  numberFlag,
  parseFlags,
  runMain,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import {
  DETECT_FLAGS,
  DETECT_HELP,
  detectOptionsFrom,
} from "./lib/cli/detect_flags.ts";
import { FaceDetector } from "./lib/face/detector.ts";
import { FrameHandler } from "./lib/server/frame_handler.ts";
import { obtainModel } from "./lib/face/model_source.ts";
import { DEFAULT_AMBIGUITY } from "./lib/face/naming.ts";
import { serveRequests } from "./lib/server/serve_loop.ts";
import { StageStats } from "./lib/measure/stats.ts";
import type { FaceMode } from "./lib/face/training.ts";
import { Context } from "./lib/zmq/zmq.ts";

const HELP =
  `facezmq worker: adds recognition capacity to a server from any machine.

Usage: deno task worker --connect ENDPOINT [options]

  --connect ENDPOINT     the server's backend (its --backend, e.g. tcp://server:5556)
  --train DIR            train from DIR/<person>/<images> (default train)
  --model FILE           or load a model (use the same people as the server)
  --faces detect|whole   training images: find the face (default) or use as is
  --threshold N          distance at or above which a face is "unknown"
  --ambiguity R          name a face only if its best distance is at most R
                         times the next person's (default ${DEFAULT_AMBIGUITY};
                         1 = always name the nearest person)
${DETECT_HELP}
  --stats SECONDS        stats line interval (default 10, 0 = off)
  -h, --help             this text
`;

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
      connect: { type: "string" },
      train: { type: "string" },
      model: { type: "string" },
      faces: { type: "string", default: "detect" },
      threshold: { type: "string" },
      ambiguity: { type: "string" },
      ...DETECT_FLAGS,
      stats: { type: "string", default: "10" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const endpoint = stringFlag(values, "connect");
  if (!endpoint) {
    throw new UsageError(
      "--connect ENDPOINT is needed (the server's --backend)",
    );
  }
  const faces = choiceFlag<FaceMode>(values, "faces", ["detect", "whole"]);
  const detector = await FaceDetector.create();
  const recognizer = await obtainModel({
    model: stringFlag(values, "model"),
    train: stringFlag(values, "train"),
    faces,
    threshold: numberFlag(values, "threshold", { min: 0 }),
    detector,
  });
  const handler = new FrameHandler(detector, recognizer, {
    detect: detectOptionsFrom(values),
    ambiguity: numberFlag(values, "ambiguity", { min: 0, max: 1 }),
  });
  const context = new Context();
  const socket = context.socket("REP", { reconnectInterval: 200 });
  socket.connect(endpoint);
  console.log(`ready: worker connected to ${endpoint}`);

  const stats = new StageStats();
  const statsSeconds = numberFlag(values, "stats", { min: 0 }) ?? 10;
  const timer = statsSeconds > 0
    ? setInterval(() => {
      if (stats.frames === 0) return;
      console.error(`stats: ${stats.line()}`);
      stats.reset();
    }, statsSeconds * 1000)
    : undefined;

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onSignal);
  await serveRequests(socket, handler, {
    signal: stop.signal,
    onMessage: (handled) => {
      if (handled.ok && handled.timings) stats.add({ ...handled.timings });
    },
  });
  if (timer !== undefined) clearInterval(timer);
  console.error("worker: shutting down");
  await Promise.race([context.close(), new Promise((r) => setTimeout(r, 300))]);
  detector.close();
  return 0;
}

if (import.meta.main) runMain(main);
