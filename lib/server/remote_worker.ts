/**
 * A remote recognition worker: a REP socket connected to a server's backend
 * (`--backend`), serving the frames the server hands it with its own model,
 * so capacity grows by starting workers on other machines. `worker.ts` runs
 * {@linkcode startRemoteWorker}.
 *
 * @module
 */

import type { DetectOptions } from "../face/detector.ts";
import { reportEvery, StageStats } from "../measure/stats.ts";
import { Context } from "../zmq/zmq.ts";
import { FrameHandler } from "./frame_handler.ts";
import { buildModel, type ModelSource, thresholdText } from "./_model.ts";
import { serveRequests } from "./serve_loop.ts";

/** Options for {@linkcode startRemoteWorker}. */
export interface RemoteWorkerOptions extends ModelSource {
  /** Best/runner-up distance ratio above which a face is `unknown`. */
  ambiguity?: number;
  /** Detection parameters. Default the server's (see detector.ts). */
  detect?: DetectOptions;
  /** Seconds between stats lines; 0 = none. Default 10. */
  statsSeconds?: number;
  /** Aborting stops the worker. */
  signal?: AbortSignal;
  /** Progress and stats. Default stderr. */
  log?: (line: string) => void;
}

/** A running remote worker. */
export interface RemoteWorker {
  /** The backend it is connected to. */
  endpoint: string;
  /** `worker connected to ..., unknown threshold T` for a log. */
  summary: string;
  /** Stops serving and releases everything; safe to call twice. */
  close(): Promise<void>;
  /** Settles once stopped; rejects when serving failed. */
  done: Promise<void>;
}

/**
 * Builds the model (it must name the same people as the server's), then
 * connects to `endpoint` and serves until closed. The server need not be
 * up yet: the socket keeps reconnecting.
 */
export async function startRemoteWorker(
  endpoint: string,
  options: RemoteWorkerOptions = {},
): Promise<RemoteWorker> {
  const log = options.log ?? ((line: string) => console.error(line));
  const { detector, recognizer } = await buildModel(options, log);
  const handler = new FrameHandler(detector, recognizer, {
    detect: options.detect,
    ambiguity: options.ambiguity,
  });
  const context = new Context();
  const socket = context.socket("REP", { reconnectInterval: 200 });
  try {
    socket.connect(endpoint);
  } catch (error) {
    await context.close();
    detector.close();
    throw new Error(
      `cannot connect to ${endpoint}: ${(error as Error).message}`,
    );
  }
  const stats = new StageStats();
  const report = reportEvery(stats, {
    intervalMs: (options.statsSeconds ?? 10) * 1000,
    report: (window) =>
      log(
        `stats: ${window.line()}${
          window.errors ? `, ${window.errors} bad requests` : ""
        }`,
      ),
  });
  const stop = new AbortController();
  const serving = serveRequests(socket, handler, {
    signal: stop.signal,
    onMessage: (handled) => {
      if (handled.ok && handled.timings) stats.add({ ...handled.timings });
      else if (!handled.ok) stats.addErrors();
    },
  });
  const done = serving.finally(async () => {
    report.stop();
    await Promise.race([
      context.close(),
      new Promise((r) => setTimeout(r, 300)),
    ]);
    detector.close();
  });
  const close = async () => {
    stop.abort();
    await done.catch(() => {});
  };
  options.signal?.addEventListener("abort", close, { once: true });
  if (options.signal?.aborted) close();
  return {
    endpoint,
    summary: `worker connected to ${endpoint}, ${
      thresholdText(recognizer.threshold)
    }`,
    close,
    done,
  };
}
