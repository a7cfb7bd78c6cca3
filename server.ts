/**
 * The recognition server: trains (or loads) the recogniser, then answers
 * frames on a ZeroMQ ROUTER socket, shared out to recognition workers behind
 * a DEALER backend (`zmq_proxy`).
 *
 * ```sh
 * deno task server [--bind tcp://127.0.0.1:5555] [--train train | --model model.yml]
 * ```
 *
 * @module
 */

import {
  loadAllowedKeys,
  loadServerKeys,
  startZapHandler,
} from "./lib/zmq/curve.ts";
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
import { obtainModel } from "./lib/face/model_source.ts";
import { DEFAULT_AMBIGUITY } from "./lib/face/naming.ts";
import { StageStats } from "./lib/measure/stats.ts";
import type { FaceMode } from "./lib/face/training.ts";
import { packModel, WorkerPool } from "./lib/server/worker_pool.ts";
import {
  Context,
  libraryPath,
  MONITOR_EVENTS,
  parseMonitorEvent,
  proxy,
  type Socket,
} from "./lib/zmq/zmq.ts";

const HELP = `facezmq server: recognises faces in the frames clients send.

Usage: deno task server [options]

  --bind ENDPOINT        where clients connect (default tcp://127.0.0.1:5555;
                         tcp://0.0.0.0:5555 to accept other machines)
  --train DIR            train from DIR/<person>/<images> (default train)
  --model FILE           load a model saved by "deno task train" (or cv2.face)
  --faces detect|whole   training images: find the face (default) or use as is
  --threshold N          distance at or above which a face is "unknown"
                         (default: calibrated on the training set)
  --ambiguity R          name a face only if its best distance is at most R
                         times the next person's (default ${DEFAULT_AMBIGUITY};
                         1 = always name the nearest person)
  --workers N            recognition threads (default: number of cores;
                         0 with --backend: remote workers only)
  --backend ENDPOINT     also let remote workers connect here
                         (e.g. tcp://0.0.0.0:5556; see "deno task worker")
${DETECT_HELP}
  --max-message-size N   largest request in bytes (default 64 MiB)
  --stats SECONDS        stats line interval (default 10, 0 = off)
  --curve-secret FILE    encrypt with CURVE using this server secret key
                         (make one with "deno task keys server")
  --allow-clients DIR    with --curve-secret: only clients whose public key
                         (*.pub) is in DIR get in
  -h, --help             this text
`;

async function main(): Promise<number> {
  const { values } = parseFlags(Deno.args, {
    flags: {
      bind: { type: "string", default: "tcp://127.0.0.1:5555" },
      train: { type: "string" },
      model: { type: "string" },
      faces: { type: "string", default: "detect" },
      threshold: { type: "string" },
      ambiguity: { type: "string" },
      workers: { type: "string" },
      backend: { type: "string" },
      ...DETECT_FLAGS,
      "max-message-size": { type: "string" },
      stats: { type: "string", default: "10" },
      "curve-secret": { type: "string" },
      "allow-clients": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const faces = choiceFlag<FaceMode>(values, "faces", ["detect", "whole"]);
  if (values.train !== undefined && values.model !== undefined) {
    throw new UsageError("give --train or --model, not both");
  }
  const threshold = numberFlag(values, "threshold", { min: 0 });
  const ambiguity = numberFlag(values, "ambiguity", { min: 0, max: 1 });
  const workers =
    numberFlag(values, "workers", { min: 0, max: 64, integer: true }) ??
      Math.max(1, navigator.hardwareConcurrency || 1);
  if (workers === 0 && values.backend === undefined) {
    throw new UsageError(
      "--workers 0 needs --backend (remote workers do all the work then)",
    );
  }
  const detect = detectOptionsFrom(values);
  const maxMessageSize =
    numberFlag(values, "max-message-size", { min: 1024, integer: true }) ??
      64 * 1024 * 1024;
  const statsSeconds = numberFlag(values, "stats", { min: 0 }) ?? 10;
  const bind = stringFlag(values, "bind")!;
  const curveSecret = stringFlag(values, "curve-secret");
  const allowClients = stringFlag(values, "allow-clients");
  if (allowClients !== undefined && curveSecret === undefined) {
    throw new UsageError("--allow-clients needs --curve-secret");
  }
  const curve = curveSecret ? await loadServerKeys(curveSecret) : undefined;
  const allowed = allowClients ? await loadAllowedKeys(allowClients) : null;

  const t0 = performance.now();
  const context = new Context();
  // The ZAP handler must run before a CURVE socket binds.
  const zap = curve
    ? startZapHandler(context, {
      allowed,
      onDecision: (d) => {
        if (!d.allowed) {
          console.error(
            `refused ${d.mechanism} client from ${d.address || "?"}` +
              (d.publicKey ? ` with key ${d.publicKey}` : " (no key)"),
          );
        }
      },
    })
    : undefined;
  const frontend = context.socket("ROUTER", {
    maxMessageSize,
    curveServer: curve ? { secretKey: curve.secretKey } : undefined,
    zapDomain: curve ? "facezmq" : undefined,
  });
  // Clients that fail the CURVE handshake never reach the ZAP handler: log them too.
  const handshakes = curve ? watchHandshakes(context, frontend) : undefined;
  const backend = context.socket("DEALER");
  try {
    frontend.bind(bind);
  } catch (error) {
    await context.close();
    throw new UsageError(
      `cannot listen on ${bind}: ${(error as Error).message}`,
    );
  }
  // Worker threads share this context and take frames over inproc (no copy, no TCP).
  const internal = "inproc://facezmq-workers";
  backend.bind(internal);
  const remote = stringFlag(values, "backend");
  if (remote) {
    try {
      backend.bind(remote);
    } catch (error) {
      await context.close();
      throw new UsageError(
        `cannot listen for workers on ${remote}: ${(error as Error).message}`,
      );
    }
  }

  // Trained after binding, so a busy port or a bad endpoint is reported at once.
  const detector = await FaceDetector.create();
  const recognizer = await obtainModel({
    model: stringFlag(values, "model"),
    train: stringFlag(values, "train"),
    faces,
    threshold,
    detector,
  });
  detector.close();

  const stats = new StageStats();
  let errors = 0;
  const perWorker = new Map<number, number>();
  const pool = await WorkerPool.start(workers, {
    endpoint: internal,
    context: context.address,
    model: packModel(recognizer),
    detect,
    limits: { maxWidth: 4096, maxHeight: 4096 },
    statsInterval: 1000,
    ambiguity,
  }, {
    onStats: (event) => {
      errors += event.errors;
      stats.addTotals(event.frames, event.sums);
      perWorker.set(event.id, (perWorker.get(event.id) ?? 0) + event.frames);
    },
    onError: (message) => console.error(`error: ${message}`),
  });

  const stop = new AbortController();
  const proxying = proxy(frontend, backend, { signal: stop.signal });
  console.log(
    `ready: serving on ${frontend.lastEndpoint} with ${workers} worker${
      workers === 1 ? "" : "s"
    }` +
      (remote ? `, remote workers on ${remote}` : "") +
      (curve
        ? `, CURVE public key ${curve.publicKey}` +
          (allowed
            ? ` (${allowed.size} allowed clients)`
            : " (any client with the server key)")
        : "") +
      ` (started in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s, libzmq ${libraryPath()})`,
  );

  const timer = statsSeconds > 0
    ? setInterval(() => {
      if (stats.frames === 0 && errors === 0) return;
      const shares = workers > 1
        ? `, per worker: ${
          [...perWorker].map(([id, n]) => `#${id} ${n}`).join(" ")
        }`
        : "";
      console.error(
        `stats: ${stats.line()}${
          errors ? `, ${errors} bad requests` : ""
        }${shares}`,
      );
      perWorker.clear();
      stats.reset();
      errors = 0;
    }, statsSeconds * 1000)
    : undefined;

  let resolveSignal!: (name: string) => void;
  const signalled = new Promise<string>((r) => resolveSignal = r);
  const onInt = () => resolveSignal("SIGINT");
  const onTerm = () => resolveSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInt);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", onTerm);
  const name = await signalled;
  console.error(`${name}: shutting down`);
  if (timer !== undefined) clearInterval(timer);
  stop.abort();
  await Promise.race([
    proxying.catch(() => {}),
    new Promise((r) => setTimeout(r, 300)),
  ]);
  await pool.stop(400);
  zap?.close();
  handshakes?.close();
  await Promise.race([context.close(), new Promise((r) => setTimeout(r, 200))]);
  return 0;
}

/** ZMTP protocol errors libzmq reports for failed CURVE handshakes. */
const HANDSHAKE_ERRORS: Record<number, string> = {
  0x11000001: "it does not have this server's public key",
  0x11000002: "it does not use CURVE (a plaintext client)",
};

/** Logs every client whose handshake with `socket` fails; returns the monitor socket. */
function watchHandshakes(context: Context, socket: Socket): Socket {
  const endpoint = "inproc://facezmq-frontend-monitor";
  socket.monitor(
    endpoint,
    MONITOR_EVENTS.handshakeFailedProtocol |
      MONITOR_EVENTS.handshakeFailedNoDetail,
  );
  const monitor = context.socket("PAIR");
  monitor.connect(endpoint);
  (async () => {
    while (true) {
      let parts: Uint8Array[];
      try {
        parts = await monitor.receive();
      } catch {
        return; // closed at shutdown
      }
      const { value } = parseMonitorEvent(parts);
      const why = HANDSHAKE_ERRORS[value] ??
        `handshake failed (code 0x${value.toString(16)})`;
      console.error(`refused a client: ${why}`);
    }
  })();
  return monitor;
}

if (import.meta.main) runMain(main);
