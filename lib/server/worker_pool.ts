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
  | { type: "stopped"; id: number };

/** Options for {@linkcode WorkerPool.start}. */
export interface WorkerPoolOptions {
  /** Called for every stats report. */
  onStats?: (event: Extract<WorkerEvent, { type: "stats" }>) => void;
  /** Called when a worker fails. */
  onError?: (message: string) => void;
}

/** A set of recognition worker threads. */
export class WorkerPool {
  #workers: Worker[] = [];
  #stopped: Promise<void>[] = [];

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
      worker.onmessage = (event: MessageEvent<WorkerEvent>) => {
        const data = event.data;
        if (data.type === "ready") resolveReady();
        else if (data.type === "stats") options.onStats?.(data);
        else if (data.type === "stopped") resolveStopped();
        else if (data.type === "error") {
          rejectReady(new Error(data.message));
          options.onError?.(`worker ${data.id}: ${data.message}`);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const message = `worker ${id} crashed: ${event.message}`;
        rejectReady(new Error(message));
        resolveStopped();
        options.onError?.(message);
      };
      worker.postMessage({ type: "start", id, setup });
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

  /** Asks every worker to stop, waits up to `timeoutMs`, then terminates them. */
  async stop(timeoutMs = 500): Promise<void> {
    for (const worker of this.#workers) worker.postMessage({ type: "stop" });
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
  }
}
