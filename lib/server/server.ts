/**
 * The recognition server: binds a ROUTER socket for clients, builds the
 * model, starts recognition worker threads behind a DEALER backend (and lets
 * remote workers connect to it), and forwards frames between the two with
 * `zmq_proxy` until closed. `server.ts` runs {@linkcode startServer}.
 *
 * ```ts
 * import { startServer } from "./lib/server/server.ts";
 * const server = await startServer({ bind: "tcp://127.0.0.1:*", workers: 1 });
 * console.log(server.endpoint);
 * await server.close();
 * ```
 *
 * @module
 */

import type { DetectOptions } from "../face/detector.ts";
import { reportEvery, StageStats } from "../measure/stats.ts";
import {
  loadAllowedKeys,
  loadServerKeys,
  startZapHandler,
} from "../zmq/curve.ts";
import { MONITOR_EVENTS, parseMonitorEvent } from "../zmq/monitor.ts";
import { Context, libraryPath, proxy, type Socket } from "../zmq/zmq.ts";
import { buildModel, type ModelSource, thresholdText } from "./_model.ts";
import { enrolmentFolder, Enrolments } from "./enrolment.ts";
import { WorkerPool } from "./worker_pool.ts";

/** Options for {@linkcode startServer}. */
export interface ServerOptions extends ModelSource {
  /** Where clients connect. Default `tcp://127.0.0.1:5555`. */
  bind?: string;
  /** Best/runner-up distance ratio above which a face is `unknown`. */
  ambiguity?: number;
  /** Recognition threads. Default: one per core; 0 needs `backend`. */
  workers?: number;
  /** Also let remote workers connect here (e.g. `tcp://0.0.0.0:5556`). */
  backend?: string;
  /** Detection parameters. Default the server's (see detector.ts). */
  detect?: DetectOptions;
  /** Largest request in bytes. Default 64 MiB. */
  maxMessageSize?: number;
  /** Seconds between stats lines; 0 = none. Default 10. */
  statsSeconds?: number;
  /** Encrypt with CURVE using this secret key file (`deno task keys`). */
  curveSecret?: string;
  /** With `curveSecret`: only clients whose `*.pub` is in this folder. */
  allowClients?: string;
  /**
   * Let clients enrol faces (lib/protocol/enrol.ts) without CURVE. With
   * `curveSecret` and `allowClients` every client that gets in may enrol
   * anyway: the ZAP handler has checked its key.
   */
  allowEnrol?: boolean;
  /** Aborting closes the server. */
  signal?: AbortSignal;
  /** Progress, stats and refused clients. Default stderr. */
  log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** The endpoint clients connect to (the port resolved if it was `*`). */
  endpoint: string;
  /** `serving on ... with N workers, unknown threshold T, ...` for a log. */
  summary: string;
  /** Stops serving and releases everything; safe to call twice. */
  close(): Promise<void>;
  /** Settles once closed; rejects when serving failed on its own. */
  done: Promise<void>;
}

/** The in-process endpoint of the worker threads (no copy, no TCP). */
const WORKERS_ENDPOINT = "inproc://facezmq-workers";

/**
 * Starts a server. Binds first, so that a busy port or a bad endpoint is
 * reported at once, before the model is trained.
 */
export async function startServer(
  options: ServerOptions = {},
): Promise<RunningServer> {
  const t0 = performance.now();
  const log = options.log ?? ((line: string) => console.error(line));
  const workers = options.workers ??
    Math.max(1, navigator.hardwareConcurrency || 1);
  if (workers === 0 && options.backend === undefined) {
    throw new Error("a server without workers needs a backend for remote ones");
  }
  if (options.allowClients !== undefined && !options.curveSecret) {
    throw new Error("allowed clients need a CURVE secret key");
  }
  const curve = options.curveSecret
    ? await loadServerKeys(options.curveSecret)
    : undefined;
  const allowed = options.allowClients
    ? await loadAllowedKeys(options.allowClients)
    : null;

  const context = new Context();
  const closers: (() => void | Promise<void>)[] = [];
  const release = async () => {
    for (const close of closers.reverse()) await close();
    await timeout(context.close(), 200);
  };
  let pool: WorkerPool | undefined;
  try {
    // The ZAP handler must run before a CURVE socket binds.
    if (curve) {
      const zap = startZapHandler(context, {
        allowed,
        onDecision: (d) => {
          if (d.allowed) return;
          log(
            `refused ${d.mechanism} client from ${d.address || "?"}` +
              (d.publicKey ? ` with key ${d.publicKey}` : " (no key)"),
          );
        },
      });
      closers.push(() => zap.close());
    }
    const frontend = context.socket("ROUTER", {
      maxMessageSize: options.maxMessageSize ?? 64 * 1024 * 1024,
      curveServer: curve ? { secretKey: curve.secretKey } : undefined,
      zapDomain: curve ? "facezmq" : undefined,
    });
    if (curve) {
      // Clients failing the CURVE handshake never reach the ZAP handler.
      const monitor = watchHandshakes(context, frontend, log);
      closers.push(() => monitor.close());
    }
    const bind = options.bind ?? "tcp://127.0.0.1:5555";
    bindOrExplain(frontend, bind, "cannot listen on");
    const backend = context.socket("DEALER");
    backend.bind(WORKERS_ENDPOINT);
    const remote = { connected: 0 };
    if (options.backend) {
      bindOrExplain(backend, options.backend, "cannot listen for workers on");
      const monitor = countRemoteWorkers(context, backend, remote);
      closers.push(() => monitor.close());
    }

    const { detector, recognizer } = await buildModel(options, log);
    detector.close();
    // The ZAP handler has checked the key of every client of a CURVE server
    // with a list of allowed clients; a worker cannot tell who sent what.
    const enrol = (curve !== undefined && allowed !== null) ||
      options.allowEnrol === true;
    const folder = enrolmentFolder(options);
    const enrolments = new Enrolments(recognizer, {
      folder,
      model: options.model,
      broadcast: (add) => pool?.addFaces(add) ?? Promise.resolve(),
      log,
    });
    const stats = new StageStats();
    const perWorker = new Map<number, number>();
    pool = await WorkerPool.start(workers, {
      endpoint: WORKERS_ENDPOINT,
      context: context.address,
      model: recognizer.pack(),
      detect: options.detect,
      limits: { maxWidth: 4096, maxHeight: 4096 },
      statsInterval: 1000,
      ambiguity: options.ambiguity,
      enrol,
    }, {
      onEnrol: async (ask) => {
        const answer = await enrolments.enrol(ask);
        if (answer.ok && remote.connected > 0) {
          log(
            `${remote.connected} remote worker${
              remote.connected === 1 ? " does" : "s do"
            } not know the new faces of "${ask.name}" until restarted ` +
              "(only this server's worker threads are updated live)",
          );
        }
        return answer;
      },
      onEnrolRefused: (name) =>
        log(
          `refused enrolment${
            name === undefined ? "" : ` of "${name}"`
          }: enrolment is off (start the server with --allow-enrol, ` +
            "or CURVE with --allow-clients)",
        ),
      onStats: (event) => {
        stats.addTotals(event.frames, event.sums);
        stats.addErrors(event.errors);
        perWorker.set(event.id, (perWorker.get(event.id) ?? 0) + event.frames);
      },
      onError: (message) => log(`error: ${message}`),
    });
    const report = reportEvery(stats, {
      intervalMs: (options.statsSeconds ?? 10) * 1000,
      report: (window) => {
        const shares = workers > 1
          ? `, per worker: ${
            [...perWorker].map(([id, n]) => `#${id} ${n}`).join(" ")
          }`
          : "";
        log(
          `stats: ${window.line()}${
            window.errors ? `, ${window.errors} bad requests` : ""
          }${shares}`,
        );
        perWorker.clear();
      },
    });
    closers.push(() => report.stop());

    const stopProxy = new AbortController();
    const proxying = proxy(frontend, backend, { signal: stopProxy.signal });
    closers.push(async () => {
      stopProxy.abort();
      await timeout(proxying.catch(() => {}), 300);
      await pool?.stop(400);
    });
    return serving({
      endpoint: frontend.lastEndpoint,
      summary:
        `serving on ${frontend.lastEndpoint} with ${workers} worker${
          workers === 1 ? "" : "s"
        }, ${thresholdText(recognizer.threshold)}` +
        (options.backend ? `, remote workers on ${options.backend}` : "") +
        (curve
          ? `, CURVE public key ${curve.publicKey}` +
            (allowed
              ? ` (${allowed.size} allowed clients)`
              : " (any client with the server key)")
          : "") +
        (enrol ? `, enrolment on (photos in ${folder}/)` : "") +
        ` (started in ${
          ((performance.now() - t0) / 1000).toFixed(1)
        } s, libzmq ${libraryPath()})`,
      proxying,
      release,
      signal: options.signal,
    });
  } catch (error) {
    pool?.terminate();
    await release();
    throw error;
  }
}

/** The handle of a started server: closes on demand, on abort, or on a failure. */
function serving(parts: {
  endpoint: string;
  summary: string;
  proxying: Promise<void>;
  release: () => Promise<void>;
  signal?: AbortSignal;
}): RunningServer {
  const ended = Promise.withResolvers<void>();
  let closing: Promise<void> | undefined;
  const close = (failure?: unknown) =>
    closing ??= parts.release().then(
      () => failure === undefined ? ended.resolve() : ended.reject(failure),
      (error) => ended.reject(error),
    );
  parts.proxying.then(
    () => close(),
    (error) => close(error),
  );
  parts.signal?.addEventListener("abort", () => close(), { once: true });
  if (parts.signal?.aborted) close();
  return {
    endpoint: parts.endpoint,
    summary: parts.summary,
    close: async () => {
      await close();
      await ended.promise.catch(() => {});
    },
    done: ended.promise,
  };
}

/** Binds `socket`, turning libzmq's terse errors into one clear line. */
function bindOrExplain(socket: Socket, endpoint: string, what: string): void {
  try {
    socket.bind(endpoint);
  } catch (error) {
    throw new Error(`${what} ${endpoint}: ${(error as Error).message}`);
  }
}

/** Waits for `promise`, but at most `ms`. */
function timeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise((r) => timer = setTimeout(r, ms)),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Keeps `count.connected` at the number of remote workers connected to the
 * backend (TCP connections accepted and not yet gone); returns the
 * monitor socket.
 */
function countRemoteWorkers(
  context: Context,
  backend: Socket,
  count: { connected: number },
): Socket {
  return watchEvents(context, backend, {
    endpoint: "inproc://facezmq-backend-monitor",
    events: MONITOR_EVENTS.accepted | MONITOR_EVENTS.disconnected,
    onEvent: ({ event }) => {
      if (event === MONITOR_EVENTS.accepted) count.connected++;
      else if (event === MONITOR_EVENTS.disconnected) {
        count.connected = Math.max(0, count.connected - 1);
      }
    },
  });
}

/** ZMTP protocol errors libzmq reports for failed CURVE handshakes. */
const HANDSHAKE_ERRORS: Record<number, string> = {
  0x11000001: "it does not have this server's public key",
  0x11000002: "it does not use CURVE (a plaintext client)",
};

/** Logs every client whose handshake with `socket` fails; returns the monitor socket. */
function watchHandshakes(
  context: Context,
  socket: Socket,
  log: (line: string) => void,
): Socket {
  return watchEvents(context, socket, {
    endpoint: "inproc://facezmq-frontend-monitor",
    events: MONITOR_EVENTS.handshakeFailedProtocol |
      MONITOR_EVENTS.handshakeFailedNoDetail,
    onEvent: ({ value }) => {
      const why = HANDSHAKE_ERRORS[value] ??
        `handshake failed (code 0x${value.toString(16)})`;
      log(`refused a client: ${why}`);
    },
  });
}

/**
 * Monitors `events` of `socket` through a PAIR socket on `endpoint`, calling
 * `onEvent` for each until the monitor socket is closed at shutdown; returns
 * the monitor socket.
 */
function watchEvents(
  context: Context,
  socket: Socket,
  options: {
    endpoint: string;
    events: number;
    onEvent: (event: ReturnType<typeof parseMonitorEvent>) => void;
  },
): Socket {
  socket.monitor(options.endpoint, options.events);
  const monitor = context.socket("PAIR");
  monitor.connect(options.endpoint);
  (async () => {
    while (true) {
      let parts: Uint8Array[];
      try {
        parts = await monitor.receive();
      } catch {
        return; // closed at shutdown
      }
      options.onEvent(parseMonitorEvent(parts));
    }
  })();
  return monitor;
}
