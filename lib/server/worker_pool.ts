/**
 * The server's recognition workers: Deno Workers, each with its own OpenCV,
 * detector and copy of the model, each a REP socket connected to the
 * server's backend DEALER. The model travels to them packed
 * (`recognizer.pack()`, rebuilt by lib/face/recognizers.ts `unpackRecognizer`).
 *
 * @module
 */

import type { DetectOptions } from "../face/detector.ts";
import type { PackedRecognizer } from "../face/recognizer.ts";
import type { Limits } from "../protocol/errors.ts";
import type { AddFaces, EnrolAnswer, EnrolAsk } from "./enrolment.ts";

/** What a worker thread is told at start. */
export interface WorkerSetup {
  /** The backend endpoint to connect its REP socket to. */
  endpoint: string;
  /**
   * The server's zmq context (`Context.address` in lib/zmq.ts), for an `inproc://`
   * endpoint; without it the worker makes its own context (tcp/ipc only).
   */
  context?: bigint;
  /** The model, as `recognizer.pack()` gives it (any kind). */
  model: PackedRecognizer;
  /** Detection parameters. */
  detect?: DetectOptions;
  /** Best/runner-up distance ratio above which a face is `unknown`. */
  ambiguity?: number;
  /** Request limits. */
  limits?: Partial<Limits>;
  /** How often to report stats, ms. */
  statsInterval: number;
  /**
   * Whether clients may enrol faces (lib/server/enrolment.ts). The server
   * decides: with CURVE and a list of allowed clients every client that
   * got in may; otherwise only with `--allow-enrol`.
   */
  enrol?: boolean;
}

/** Messages a worker thread posts. */
export type WorkerEvent =
  | { type: "ready"; id: number }
  | {
    type: "stats";
    id: number;
    frames: number;
    errors: number;
    sums: Record<string, number>;
  }
  | { type: "error"; id: number; message: string }
  | { type: "stopped"; id: number }
  | ({ type: "enrol"; id: number; seq: number } & EnrolAsk)
  | { type: "enrol-refused"; id: number; name?: string }
  | { type: "added"; id: number; seq: number };

/** Messages the main thread posts to a worker thread. */
export type WorkerCommand =
  | { type: "start"; id: number; setup: WorkerSetup }
  | { type: "stop" }
  | ({ type: "add"; seq: number } & AddFaces)
  | { type: "enrolled"; seq: number; answer: EnrolAnswer };

/** Options for {@linkcode WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Called for every stats report. */
  onStats?: (event: Extract<WorkerEvent, { type: "stats" }>) => void;
  /** Called when a worker fails. */
  onError?: (message: string) => void;
  /** Keeps the faces a worker thread asks to enrol (see lib/server/enrolment.ts). */
  onEnrol?: (ask: EnrolAsk) => Promise<EnrolAnswer>;
  /** Called when a worker thread refused an enrolment (`name` if it was readable). */
  onEnrolRefused?: (name: string | undefined) => void;
}

/** How long {@linkcode WorkerPool.addFaces} waits for the workers, ms. */
const ADD_TIMEOUT_MS = 30_000;

/** A set of recognition worker threads. */
export class WorkerPool {
  #workers: Worker[] = [];
  #stopped: Promise<void>[] = [];
  #running: boolean[] = [];
  /** Per `addFaces` call, the workers yet to confirm. */
  #adding = new Map<number, { waiting: Set<number>; done: () => void }>();
  #seq = 0;

  private constructor() {}

  /** Starts `count` workers and resolves when all are ready to serve. */
  static async start(
    count: number,
    setup: WorkerSetup,
    options: WorkerPoolOptions = {},
  ): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const ready: Promise<void>[] = [];
    for (let id = 0; id < count; id++) {
      const worker = new Worker(
        new URL("./_worker_thread.ts", import.meta.url),
        { type: "module" },
      );
      let resolveReady!: () => void;
      let rejectReady!: (error: Error) => void;
      ready.push(
        new Promise<void>((resolve, reject) => {
          resolveReady = resolve;
          rejectReady = reject;
        }),
      );
      let resolveStopped!: () => void;
      pool.#stopped.push(new Promise<void>((r) => resolveStopped = r));
      pool.#running.push(true);
      const gone = () => {
        pool.#running[id] = false;
        resolveStopped();
        // A worker that is gone confirms nothing any more.
        for (const seq of pool.#adding.keys()) pool.#confirm(seq, id);
      };
      worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
        const data = event.data;
        if (data.type === "ready") resolveReady();
        else if (data.type === "stats") options.onStats?.(data);
        else if (data.type === "stopped") gone();
        else if (data.type === "added") pool.#confirm(data.seq, id);
        else if (data.type === "enrol") pool.#enrol(worker, data, options);
        else if (data.type === "enrol-refused") {
          options.onEnrolRefused?.(data.name);
        } else if (data.type === "error") {
          rejectReady(new Error(data.message));
          options.onError?.(`worker ${data.id}: ${data.message}`);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const message = `worker ${id} crashed: ${event.message}`;
        rejectReady(new Error(message));
        gone();
        options.onError?.(message);
      };
      post(worker, { type: "start", id, setup });
      pool.#workers.push(worker);
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      pool.terminate();
      throw error;
    }
    return pool;
  }

  /** Number of workers. */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Has every running worker add the faces to its recogniser; resolves
   * once all have (rejects after 30 s naming those that have not).
   */
  addFaces(add: AddFaces): Promise<void> {
    const seq = this.#seq++;
    const waiting = new Set<number>();
    this.#workers.forEach((worker, id) => {
      if (!this.#running[id]) return;
      waiting.add(id);
      post(worker, { type: "add", seq, ...add });
    });
    if (waiting.size === 0) return Promise.resolve();
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const timer = setTimeout(() => {
      this.#adding.delete(seq);
      reject(
        new Error(
          `worker${waiting.size === 1 ? "" : "s"} ${
            [...waiting].join(", ")
          } did not confirm within ${ADD_TIMEOUT_MS / 1000} s`,
        ),
      );
    }, ADD_TIMEOUT_MS);
    this.#adding.set(seq, {
      waiting,
      done: () => {
        clearTimeout(timer);
        resolve();
      },
    });
    return promise;
  }

  #confirm(seq: number, id: number): void {
    const adding = this.#adding.get(seq);
    if (!adding) return;
    adding.waiting.delete(id);
    if (adding.waiting.size > 0) return;
    this.#adding.delete(seq);
    adding.done();
  }

  /** Hands a worker's enrolment to `onEnrol` and posts the answer back. */
  #enrol(
    worker: Worker,
    ask: Extract<WorkerEvent, { type: "enrol" }>,
    options: WorkerPoolOptions,
  ): void {
    const answer = options.onEnrol
      ? options.onEnrol({
        name: ask.name,
        descriptors: ask.descriptors,
        jpegs: ask.jpegs,
      }).catch((error) => ({
        ok: false as const,
        message: `enrolment failed: ${(error as Error).message}`,
      }))
      : Promise.resolve({
        ok: false as const,
        message: "this server does not keep enrolled faces",
      });
    answer.then((answer) => {
      if (this.#running[ask.id]) {
        post(worker, { type: "enrolled", seq: ask.seq, answer });
      }
    });
  }

  /** Asks every worker to stop, waits up to `timeoutMs`, then terminates them. */
  async stop(timeoutMs = 500): Promise<void> {
    for (const worker of this.#workers) post(worker, { type: "stop" });
    await Promise.race([
      Promise.all(this.#stopped),
      new Promise((r) => setTimeout(r, timeoutMs)),
    ]);
    this.terminate();
  }

  /** Ends every worker at once. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
    this.#workers = [];
    // Nobody is left to confirm faces being added.
    for (const adding of this.#adding.values()) adding.done();
    this.#adding.clear();
  }
}

function post(worker: Worker, command: WorkerCommand): void {
  worker.postMessage(command);
}
