/**
 * The worker-thread side of a capture, loaded by `capture.ts` as a Worker
 * entry file (never imported for its code: `capture.ts` imports only its
 * message types). It spawns ffmpeg and reads its stdout without pause, so a
 * main thread busy with heavy synchronous work still gets the newest frame
 * rather than a backlog. Live mode keeps only the newest complete frame;
 * `everyFrame` reads one frame per request, leaving backpressure on ffmpeg.
 * Frames cross by transferring their buffers, which the main thread gives back.
 *
 * @module
 */

import { collectStderr, LineTail, spawn } from "./_process.ts";

/** Messages from the main thread to the capture worker. */
export type ToWorker =
  | {
    type: "start";
    program: string;
    args: string[];
    frameBytes: number;
    everyFrame: boolean;
  }
  | { type: "next" }
  | { type: "give"; buffer: ArrayBuffer }
  | { type: "close" };

/**
 * A frame as it crosses from the worker. `time` is ms since the epoch: the
 * two threads' `performance.timeOrigin` differ.
 */
export interface WireFrame {
  buffer: ArrayBuffer;
  index: number;
  time: number;
  dropped: number;
  read: number;
}

/** Messages from the capture worker to the main thread. */
export type FromWorker =
  | { type: "spawned"; pid: number }
  | ({ type: "frame" } & WireFrame)
  | {
    type: "end";
    success: boolean;
    code: number;
    spawnError: string | null;
    stderr: string;
    read: number;
    dropped: number;
    last: WireFrame | null;
  };

/** The part of a worker's global scope this module uses. */
interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
}

/** Serves one capture's messages on the worker's global scope. */
function runCaptureWorker(scope: WorkerScope): void {
  let child: Deno.ChildProcess | null = null;
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let frameBytes = 0;
  let everyFrame = false;
  const free: ArrayBuffer[] = [];
  let ready: WireFrame | null = null;
  let wanted = false;
  let framesRead = 0;
  let dropped = 0;
  let ended = false;
  let closing = false;
  let taken: (() => void) | null = null;

  function send(frame: WireFrame): void {
    frame.dropped = dropped;
    frame.read = framesRead;
    scope.postMessage({ type: "frame", ...frame }, [frame.buffer]);
  }

  function release(): void {
    const t = taken;
    taken = null;
    t?.();
  }

  function complete(buffer: ArrayBuffer): Promise<void> | void {
    const frame: WireFrame = {
      buffer,
      index: framesRead,
      time: performance.timeOrigin + performance.now(),
      dropped: 0,
      read: 0,
    };
    framesRead++;
    if (wanted) {
      wanted = false;
      send(frame);
      return;
    }
    if (ready !== null) {
      dropped++; // live mode only: nobody took the previous frame
      free.push(ready.buffer);
    }
    ready = frame;
    if (everyFrame) return new Promise<void>((resolve) => (taken = resolve));
  }

  async function readAll(stdout: ReadableStream<Uint8Array>): Promise<void> {
    reader = stdout.getReader();
    let filling = new Uint8Array(free.pop() ?? new ArrayBuffer(frameBytes));
    let filled = 0;
    try {
      while (!closing) {
        const { value, done } = await reader.read();
        if (done) break;
        let offset = 0;
        while (offset < value.length) {
          const n = Math.min(frameBytes - filled, value.length - offset);
          filling.set(value.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === frameBytes) {
            const wait = complete(filling.buffer as ArrayBuffer);
            if (wait) await wait;
            if (closing) return;
            filling = new Uint8Array(free.pop() ?? new ArrayBuffer(frameBytes));
            filled = 0;
          }
        }
      }
    } catch {
      // Cancelled by close.
    }
  }

  async function start(
    message: Extract<ToWorker, { type: "start" }>,
  ): Promise<void> {
    frameBytes = message.frameBytes;
    everyFrame = message.everyFrame;
    let spawnError: string | null = null;
    try {
      child = spawn(message.program, message.args, {
        stdin: "null",
        stdout: "piped",
      });
    } catch (err) {
      spawnError = err instanceof Error ? err.message : String(err);
    }
    if (child === null) {
      ended = true;
      scope.postMessage({
        type: "end",
        success: false,
        code: -1,
        spawnError,
        stderr: "",
        read: 0,
        dropped: 0,
        last: null,
      });
      return;
    }
    scope.postMessage({ type: "spawned", pid: child.pid });
    const tail = new LineTail();
    const stderrDone = collectStderr(child.stderr, tail);
    const readDone = readAll(child.stdout);
    const status = await child.status;
    await readDone;
    await stderrDone;
    ended = true;
    const last: WireFrame | null = ready;
    ready = null;
    if (last !== null) {
      last.dropped = dropped;
      last.read = framesRead;
    }
    scope.postMessage(
      {
        type: "end",
        success: status.success,
        code: status.code,
        spawnError: null,
        stderr: tail.text(),
        read: framesRead,
        dropped,
        last,
      },
      last ? [last.buffer] : [],
    );
  }

  scope.onmessage = (event: MessageEvent<ToWorker>) => {
    const message = event.data;
    if (message.type === "start") {
      start(message);
    } else if (message.type === "give") {
      free.push(message.buffer);
    } else if (message.type === "next") {
      if (ready !== null) {
        const frame = ready;
        ready = null;
        send(frame);
        release();
      } else if (!ended) {
        wanted = true;
      }
    } else if (message.type === "close") {
      closing = true;
      release();
      try {
        child?.kill("SIGKILL");
      } catch {
        // Already exited.
      }
      reader?.cancel().catch(() => {});
    }
  };
}

runCaptureWorker(globalThis as unknown as WorkerScope);
