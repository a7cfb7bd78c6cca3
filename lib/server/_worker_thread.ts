/**
 * Entry point of one recognition worker thread (see worker_pool.ts):
 * loads OpenCV and the detector, rebuilds the model, connects a REP socket
 * to the server's backend and serves until told to stop.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { FaceDetector } from "../face/detector.ts";
import { FrameHandler } from "./frame_handler.ts";
import { serveRequests } from "./serve_loop.ts";
import { unpackRecognizer } from "../face/recognizers.ts";
import type { WorkerEvent, WorkerSetup } from "./worker_pool.ts";
import { Context } from "../zmq/zmq.ts";
import { reportEvery, StageStats } from "../measure/stats.ts";

const abort = new AbortController();
let context: Context | undefined;

function post(event: WorkerEvent): void {
  self.postMessage(event);
}

async function run(id: number, setup: WorkerSetup): Promise<void> {
  // A bad model fails here, before anything needs closing.
  const recognizer = await unpackRecognizer(setup.model);
  const detector = await FaceDetector.create();
  const handler = new FrameHandler(detector, recognizer, {
    detect: setup.detect,
    ambiguity: setup.ambiguity,
    limits: setup.limits,
  });
  context = setup.context === undefined
    ? new Context()
    : Context.shared(setup.context);
  const socket = context.socket("REP");
  socket.connect(setup.endpoint);
  post({ type: "ready", id });

  const stats = new StageStats();
  using _report = reportEvery(stats, {
    intervalMs: setup.statsInterval,
    report: (window) =>
      post({
        type: "stats",
        id,
        frames: window.frames,
        errors: window.errors,
        sums: window.totals(),
      }),
  });

  try {
    await serveRequests(socket, handler, {
      signal: abort.signal,
      onMessage: (handled) =>
        handled.ok ? stats.add({ ...handled.timings }) : stats.addErrors(),
    });
  } finally {
    await context.close();
    detector.close();
  }
}

self.onmessage = (event: MessageEvent) => {
  const data = event.data;
  if (data.type === "start") {
    run(data.id, data.setup).then(
      () => post({ type: "stopped", id: data.id }),
      (error) => {
        post({ type: "error", id: data.id, message: (error as Error).message });
        post({ type: "stopped", id: data.id });
      },
    );
  } else if (data.type === "stop") {
    abort.abort();
  }
};
