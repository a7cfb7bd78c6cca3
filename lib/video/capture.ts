/**
 * Capturing raw frames from a camera, a file or a stream URL through ffmpeg
 * ({@link openCapture}). This is the main-thread side: it builds the ffmpeg
 * command line and explains failures; `_capture_worker.ts`, a Worker entry
 * file, spawns ffmpeg and reads its stdout so reading never waits for a busy
 * main thread.
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";
import { defaultCameraInput, type InputKind, resolveInput } from "./input.ts";
import {
  bytesPerPixel,
  ffmpegPixFmt,
  type RawPixelFormat as PixelFormat,
} from "../images/pixel_format.ts";
import { notFoundError, programExists } from "./_process.ts";
import type { FromWorker, ToWorker, WireFrame } from "./_capture_worker.ts";

/** One captured frame. */
export interface Frame {
  /**
   * `width * height * channels` bytes, row-major, no padding. The buffer is
   * reused: the next call of `next()` hands it back to the reader and this
   * array becomes empty (detached); copy it (`data.slice()`) to keep it.
   */
  data: Uint8Array;
  /** Frame number in the source, from 0; gaps are frames dropped in live mode. */
  index: number;
  /** `performance.now()` (ms) when the frame's last byte arrived. */
  time: number;
}

/** Options of {@link openCapture}. */
export interface CaptureOptions {
  /** Camera, file or URL (see `resolveInput` in `input.ts`); default the machine's camera. */
  input?: string;
  /** Width of delivered frames (the source is scaled to it). */
  width: number;
  /** Height of delivered frames. */
  height: number;
  /** Output frame rate (ffmpeg `fps` filter); default the source's own. */
  fps?: number;
  /** Pixel format of delivered frames; default `rgb24`. */
  pixelFormat?: PixelFormat;
  /**
   * Deliver every frame of a file as fast as the consumer takes them
   * (no `-re`, backpressure on ffmpeg). Default false: live, newest frame only.
   */
  everyFrame?: boolean;
  /** ffmpeg program; default `"ffmpeg"` (see `findFfmpeg` in `find_ffmpeg.ts`). */
  ffmpeg?: string;
  /** Loop a file forever. */
  loop?: boolean;
}

/** A running capture. */
export interface Capture {
  /**
   * The next frame: in live mode the newest complete frame (older ones are
   * dropped), with `everyFrame` the next one in order. Null when the stream
   * ended normally. Rejects with a {@link CaptureError} when ffmpeg fails.
   */
  next(): Promise<Frame | null>;
  /** Frames read from ffmpeg but never delivered (live mode only). */
  readonly dropped: number;
  /** True once the stream ended normally (`next()` gave or will give null). */
  readonly ended: boolean;
  /** Frames read from ffmpeg so far (delivered + dropped + waiting). */
  readonly read: number;
  /** Bytes per frame: `width * height * channels`. */
  readonly frameBytes: number;
  /** Process id of ffmpeg. */
  readonly pid: number;
  /** The ffmpeg command line, for logs. */
  readonly args: readonly string[];
  /** Stops ffmpeg and waits for it to exit; safe to call twice. */
  close(): Promise<void>;
}

/** Name the capture worker runs under (shown in debuggers and traces). */
const WORKER_NAME = "facezmq-ffmpeg-capture";

/** Explains a failed capture from ffmpeg's exit and its last stderr lines. */
function captureFailure(
  label: string,
  kind: InputKind,
  code: number,
  stderr: string,
  framesRead: number,
): CaptureError {
  const details = stderr === "" ? "(ffmpeg printed nothing)" : stderr;
  if (/Device or resource busy/i.test(stderr)) {
    return new CaptureError(
      `The ${label} is busy: another program is using it. Close that ` +
        `program or choose another camera with --input.\nffmpeg said:\n${details}`,
    );
  }
  if (/Permission denied/i.test(stderr)) {
    return new CaptureError(
      `Permission denied opening ${label}. On Linux add yourself to the ` +
        `"video" group; on macOS allow camera access for the terminal.\n` +
        `ffmpeg said:\n${details}`,
    );
  }
  if (framesRead === 0 && kind === "file") {
    return new CaptureError(
      `Could not read ${label} as a video (ffmpeg exit code ${code}). Is it ` +
        `a video file?\nffmpeg said:\n${details}`,
    );
  }
  if (framesRead === 0) {
    return new CaptureError(
      `Could not open ${label} (ffmpeg exit code ${code}).\nffmpeg said:\n${details}`,
    );
  }
  return new CaptureError(
    `ffmpeg stopped with exit code ${code} after ${framesRead} frames of ` +
      `${label}.\nffmpeg said:\n${details}`,
  );
}

/**
 * Starts ffmpeg reading a camera, file or URL and delivering raw frames of
 * `width x height` (scaled to fit). In live mode (the default) the reader
 * keeps reading and {@link Capture.next} gives the newest complete frame, so
 * latency never builds up; with `everyFrame` each frame of a file is
 * delivered in order, as fast as the consumer takes them.
 *
 * Throws a {@link CaptureError} at once for a missing camera, file or
 * ffmpeg; later faults reject `next()`.
 */
export function openCapture(options: CaptureOptions): Capture {
  const { width, height } = options;
  if (
    !(Number.isInteger(width) && width > 0 && Number.isInteger(height) &&
      height > 0)
  ) {
    throw new CaptureError(
      `Capture size must be positive whole numbers, got ${width}x${height}.`,
    );
  }
  const pixelFormat = options.pixelFormat ?? "rgb24";
  const everyFrame = options.everyFrame ?? false;
  const frameBytes = width * height * bytesPerPixel(pixelFormat);
  let input = options.input;
  if (input === undefined) {
    const cam = defaultCameraInput({ ffmpeg: options.ffmpeg });
    input = cam.format === "v4l2" ? cam.input : `${cam.format}:${cam.input}`;
  }
  const resolved = resolveInput(input, {
    everyFrame,
    loop: options.loop,
    fps: options.fps,
  });
  const filters = [`scale=${width}:${height}`];
  if (options.fps !== undefined) filters.push(`fps=${options.fps}`);
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-nostdin",
    ...resolved.args,
    "-an",
    "-sn",
    "-vf",
    filters.join(","),
    "-f",
    "rawvideo",
    "-pix_fmt",
    ffmpegPixFmt(pixelFormat),
    "pipe:1",
  ];
  const program = options.ffmpeg ?? "ffmpeg";
  if (!programExists(program)) throw notFoundError(program);
  return startCaptureWorker({
    program,
    args,
    frameBytes,
    everyFrame,
    label: resolved.label,
    kind: resolved.kind,
  });
}

/** Starts the worker that runs ffmpeg and wraps it as a {@link Capture}. */
function startCaptureWorker(
  setup: {
    program: string;
    args: string[];
    frameBytes: number;
    everyFrame: boolean;
    label: string;
    kind: InputKind;
  },
): Capture {
  const worker = new Worker(
    new URL("./_capture_worker.ts", import.meta.url),
    { type: "module", name: WORKER_NAME },
  );
  let pid = 0;
  let dropped = 0;
  let read = 0;
  let held: ArrayBuffer | null = null;
  let last: WireFrame | null = null;
  let ended = false;
  let failure: CaptureError | null = null;
  let closing = false;
  let pending: ((message: FromWorker | null) => void) | null = null;
  let endResolve: () => void = () => {};
  const endPromise = new Promise<void>((resolve) => (endResolve = resolve));

  function reply(message: FromWorker | null): void {
    const p = pending;
    pending = null;
    p?.(message);
  }

  function onEnd(message: Extract<FromWorker, { type: "end" }>): void {
    worker.terminate();
    ended = true;
    dropped = message.dropped;
    read = message.read;
    last = message.last;
    if (closing) {
      // Stopped on purpose: no error.
    } else if (message.spawnError !== null) {
      failure = new CaptureError(message.spawnError);
    } else if (!message.success) {
      failure = captureFailure(
        setup.label,
        setup.kind,
        message.code,
        message.stderr,
        message.read,
      );
    } else if (message.read === 0) {
      failure = new CaptureError(
        `${setup.label} has no video frames.` +
          (message.stderr ? `\nffmpeg said:\n${message.stderr}` : ""),
      );
    }
    endResolve();
    reply(null);
  }

  worker.onmessage = (event: MessageEvent<FromWorker>) => {
    const message = event.data;
    if (message.type === "spawned") pid = message.pid;
    else if (message.type === "end") onEnd(message);
    else reply(message);
  };
  worker.onerror = (event: ErrorEvent) => {
    event.preventDefault();
    onEnd({
      type: "end",
      success: false,
      code: -1,
      spawnError: `The capture reader failed: ${event.message}`,
      stderr: "",
      read,
      dropped,
      last: null,
    });
  };
  worker.postMessage(
    {
      type: "start",
      program: setup.program,
      args: setup.args,
      frameBytes: setup.frameBytes,
      everyFrame: setup.everyFrame,
    } satisfies ToWorker,
  );

  function toFrame(wire: WireFrame): Frame {
    held = wire.buffer;
    dropped = wire.dropped;
    read = wire.read;
    return {
      data: new Uint8Array(wire.buffer),
      index: wire.index,
      time: wire.time - performance.timeOrigin,
    };
  }

  async function next(): Promise<Frame | null> {
    if (held !== null && !ended) {
      worker.postMessage({ type: "give", buffer: held } satisfies ToWorker, [
        held,
      ]);
    }
    held = null;
    if (!ended && !closing) {
      const message = await new Promise<FromWorker | null>((resolve) => {
        pending = resolve;
        worker.postMessage({ type: "next" } satisfies ToWorker);
      });
      if (message !== null && message.type === "frame") return toFrame(message);
    }
    if (last !== null && !closing) {
      const frame = toFrame(last);
      last = null;
      return frame;
    }
    if (failure !== null) throw failure;
    return null;
  }

  async function close(): Promise<void> {
    if (!closing) {
      closing = true;
      if (!ended) worker.postMessage({ type: "close" } satisfies ToWorker);
    }
    await endPromise;
  }

  return {
    next,
    close,
    get dropped() {
      return dropped;
    },
    get ended() {
      return ended && failure === null;
    },
    get read() {
      return read;
    },
    get pid() {
      return pid;
    },
    frameBytes: setup.frameBytes,
    args: [setup.program, ...setup.args],
  };
}
