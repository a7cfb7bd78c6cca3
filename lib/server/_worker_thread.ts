/**
 * Entry point of one recognition worker thread (see worker_pool.ts):
 * loads OpenCV and the detector, rebuilds the model, connects a REP socket
 * to the server's backend and serves until told to stop. Enrol requests go
 * to lib/server/enrolment.ts, which waits for the main thread; faces the
 * main thread sends (`add`) join this thread's recogniser between requests.
 *
 * @module
 */

/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />

import { FaceDetector } from "../face/detector.ts";
import type { Recognizer } from "../face/recognizer.ts";
import { FrameHandler } from "./frame_handler.ts";
import { serveRequests } from "./serve_loop.ts";
import {
  type EnrolAnswer,
  type EnrolAsk,
  WorkerEnrolment,
} from "./enrolment.ts";
import { unpackRecognizer } from "../face/recognizers.ts";
import { isEnrolRequest } from "../protocol/enrol.ts";
import type { WorkerCommand, WorkerEvent, WorkerSetup } from "./worker_pool.ts";
import { Context } from "../zmq/zmq.ts";
import { reportEvery, StageStats } from "../measure/stats.ts";

const abort = new AbortController();
let context: Context | undefined;
let recognizer: Recognizer | undefined;
let workerId = -1;
let nextAsk = 0;
/** Enrolments waiting for the main thread's answer, by sequence number. */
const asks = new Map<number, (answer: EnrolAnswer) => void>();

function post(event: WorkerEvent): void {
  self.postMessage(event);
}

/** Hands an enrolment to the main thread; resolves with its answer. */
function askMain(ask: EnrolAsk): Promise<EnrolAnswer> {
  const seq = nextAsk++;
  const { promise, resolve } = Promise.withResolvers<EnrolAnswer>();
  asks.set(seq, resolve);
  post({ type: "enrol", id: workerId, seq, ...ask });
  return promise;
}

async function run(id: number, setup: WorkerSetup): Promise<void> {
  workerId = id;
  // A bad model fails here, before anything needs closing.
  recognizer = await unpackRecognizer(setup.model);
  const detector = await FaceDetector.create();
  const handler = new FrameHandler(detector, recognizer, {
    detect: setup.detect,
    ambiguity: setup.ambiguity,
    limits: setup.limits,
  });
  const enrolment = new WorkerEnrolment(recognizer, {
    allowed: setup.enrol === true,
    limits: setup.limits,
    ask: askMain,
    onRefused: (name) => post({ type: "enrol-refused", id, name }),
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
    await serveRequests(socket, {
      handle: (parts) =>
        isEnrolRequest(parts) ? enrolment.handle(parts) : handler.handle(parts),
    }, {
      signal: abort.signal,
      onMessage: (handled) => {
        if (handled.timings) stats.add({ ...handled.timings });
        else if (!handled.ok) stats.addErrors();
      },
    });
  } finally {
    await context.close();
    detector.close();
  }
}

/** Adds the main thread's faces to this thread's recogniser. */
function addFaces(command: Extract<WorkerCommand, { type: "add" }>): void {
  try {
    recognizer?.add(
      command.descriptors,
      command.descriptors.map(() => command.label),
    );
    recognizer?.labelNames.set(command.label, command.name);
  } catch (error) {
    post({
      type: "error",
      id: workerId,
      message: `cannot add the faces of "${command.name}": ${
        (error as Error).message
      }`,
    });
  }
  post({ type: "added", id: workerId, seq: command.seq });
}

self.onmessage = (event: MessageEvent<WorkerCommand>) => {
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
    // An enrolment waiting for the main thread ends with the thread.
    for (const resolve of asks.values()) {
      resolve({ ok: false, message: "the server is stopping" });
    }
    asks.clear();
  } else if (data.type === "add") {
    addFaces(data);
  } else if (data.type === "enrolled") {
    asks.get(data.seq)?.(data.answer);
    asks.delete(data.seq);
  }
};
