/**
 * A client session: frames from a camera, file or stream go to the server
 * and come back with the faces named. Per frame: capture, pixels for the
 * wire, exchange with the server, decode, draw, show (web page, window,
 * recording), report (`onFrame`: JSON lines, the bench's timings), count.
 * `client.ts`, `demo.ts` and `bench.ts` all run this.
 *
 * ```ts
 * import { runSession } from "./lib/client/session.ts";
 * const summary = await runSession({ input: "clip.mp4", everyFrame: true, view: "none" });
 * ```
 *
 * @module
 */

import { drawFaces } from "../images/draw.ts";
import type { Image } from "../images/image.ts";
import { loadOpenCV } from "../face/opencv.ts";
import { mean, percentile } from "../measure/stats.ts";
import type { Face, FrameReply, Timings } from "../protocol/binary.ts";
import { type Capture, type Frame, openCapture } from "../video/capture.ts";
import { CaptureError } from "../video/capture_error.ts";
import { findFfmpeg } from "../video/find_ffmpeg.ts";
import { FrameClient, type FrameClientOptions } from "./frame_client.ts";
import { openOutputs, type ViewMode } from "./_outputs.ts";
import {
  FrameRequests,
  replyTo,
  type SendFormat,
  type SentRequest,
} from "./_request.ts";

export type { SendFormat, ViewMode };

/**
 * The step that takes a request to the server and brings back its reply.
 * {@linkcode FrameClient} (REQ, one frame at a time) is the default. Each
 * call carries its own frame id, so a client that keeps several frames in
 * flight (DEALER) fits the same shape.
 */
export interface FrameExchange {
  /**
   * Sends the parts `build()` returns and resolves with the reply; on a
   * retry `build()` is called again (a live source sends its newest frame).
   */
  exchange(
    build: () => Promise<Uint8Array[]> | Uint8Array[],
  ): Promise<Uint8Array[]>;
  /** True while the server is not answering. */
  readonly inOutage: boolean;
  /** Times the connection was reopened. */
  readonly reconnects: number;
  /** Ends pending exchanges at once. */
  close(): Promise<void>;
}

/** Client-side milliseconds of one frame. */
export interface ClientTimings {
  /** Waiting for the frame (0 for the first: that is ffmpeg starting). */
  capture: number;
  /** Pixels for the wire and the request. */
  encode: number;
  /** Request sent to reply received (the server's time included). */
  exchange: number;
  /** Decoding the reply. */
  decode: number;
  /** Drawing the boxes (0 when the server draws or nothing shows). */
  draw: number;
}

/** One answered frame. */
export interface FrameResult {
  /** The frame's number in the source, from 0. */
  frame: number;
  /** The faces the server found and named. */
  faces: Face[];
  /** Request built to reply received, ms. */
  latencyMs: number;
  /** Client stages. */
  timings: ClientTimings;
  /** Server stages, from the reply. */
  server: Timings;
  /** Bytes of the request and of the reply. */
  requestBytes: number;
  /** Bytes of the reply. */
  replyBytes: number;
}

/** What a session did. */
export interface SessionSummary {
  /** Frames answered. */
  frames: number;
  /** Frames with at least one face. */
  framesWithFaces: number;
  /** First frame in to last frame answered. */
  seconds: number;
  /** Frames answered per second. */
  fps: number;
  /** Latency percentiles and mean, ms (NaN without frames). */
  latency: { p50: number; p95: number; mean: number };
  /** Frames a live source produced that were never sent (too slow). */
  dropped: number;
  /** Times the connection to the server was reopened. */
  reconnects: number;
  /** Per label, the number of frames it was seen in. */
  seen: Record<string, number>;
  /** `performance.now()` when the first frame came in. */
  started: number;
  /** `performance.now()` when the last frame was done. */
  ended: number;
}

/** Options for {@linkcode runSession}. */
export interface SessionOptions {
  /** The server. Default `tcp://127.0.0.1:5555`. */
  connect?: string;
  /** Camera, video file or URL. Default: the first camera. */
  input?: string;
  /** Frame width sent to the server. Default 640. */
  width?: number;
  /** Frame height. Default 480. */
  height?: number;
  /** Capture rate. Default: the source's (30 for recordings of a camera). */
  fps?: number;
  /** Every frame of a file, as fast as answers come (else live: newest only). */
  everyFrame?: boolean;
  /** Stop after this many frames. */
  frames?: number;
  /** Pixels sent. Default `grey`. */
  send?: SendFormat;
  /** Who draws the boxes. Default `client`. */
  draw?: "client" | "server";
  /** Milliseconds to wait for each reply. Default 1000. */
  timeout?: number;
  /** Retries before giving up; 0 = forever. Default 0 for live sources, 5 for files. */
  retries?: number;
  /** CURVE keys for an encrypted link. */
  curve?: FrameClientOptions["curve"];
  /** Reopen a live source that fails. */
  reconnect?: boolean;
  /** The ffmpeg program (checked). Default: found on PATH or in npm. */
  ffmpeg?: string;
  /** The ffplay program for `view: "window"`. Default: found on PATH. */
  ffplay?: string;
  /** How the annotated picture is shown. Default `none`. */
  view?: ViewMode;
  /** Port of the web view. Default 8080. */
  port?: number;
  /** Record the annotated video to this file (.mp4). */
  record?: string;
  /** The exchange to use instead of a FrameClient (the session closes it). */
  exchange?: FrameExchange;
  /** Called with each answered frame (JSON lines, timings). */
  onFrame?: (result: FrameResult) => void;
  /** Wants each annotated RGB picture: frames are drawn even if nothing shows them. */
  onPicture?: (picture: Image, result: FrameResult) => void | Promise<void>;
  /** Called once the session ends, also when it fails after capture started. */
  onSummary?: (summary: SessionSummary) => void;
  /** Aborting ends the session at once, normally. */
  signal?: AbortSignal;
  /** Notices (outages, the capture command, recordings). Default stderr. */
  log?: (line: string) => void;
}

/**
 * Runs a session until the source ends, `frames` are answered or `signal`
 * aborts. Rejects on a fault (no server after the retries, a broken source,
 * a refused frame), after `onSummary` when frames were under way.
 */
export async function runSession(
  options: SessionOptions = {},
): Promise<SessionSummary> {
  const log = options.log ?? ((line: string) => console.error(line));
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const live = !options.everyFrame;
  const signal = options.signal;
  const ffmpeg = await findFfmpeg({ override: options.ffmpeg });
  await using cleanup = new AsyncDisposableStack();

  const outputs = await openOutputs({
    view: options.view ?? "none",
    port: options.port,
    record: options.record,
    width,
    height,
    fps: options.fps ?? 30,
    ffmpeg,
    ffplay: options.ffplay,
    log,
  });
  cleanup.defer(() => outputs.close());
  const wantPicture = outputs.wanted || options.onPicture !== undefined;
  if (wantPicture) await loadOpenCV();

  // Grey is enough when nobody looks at the picture.
  const pixelFormat = !wantPicture && (options.send ?? "grey") === "grey"
    ? "gray"
    : "rgb24";
  const openSource = () =>
    openCapture({
      input: options.input,
      width,
      height,
      fps: options.fps,
      pixelFormat,
      everyFrame: options.everyFrame,
      ffmpeg,
    });
  let capture: Capture = openSource();
  cleanup.defer(() => capture.close());
  const connect = options.connect ?? "tcp://127.0.0.1:5555";
  const exchange = options.exchange ?? new FrameClient(connect, {
    timeout: options.timeout,
    retries: options.retries ?? (isLive(options.input) ? 0 : 5),
    curve: options.curve,
    log,
  });
  cleanup.defer(() => exchange.close());
  log(`client: ${capture.args.join(" ")} -> ${connect}`);

  // Unblock a pending capture read or exchange at once.
  const stop = () => {
    capture.close().catch(() => {});
    exchange.close().catch(() => {});
  };
  signal?.addEventListener("abort", stop, { once: true });
  cleanup.defer(() => signal?.removeEventListener("abort", stop));

  /** The next frame, reopening a failed live source with `reconnect`. */
  const nextFrame = async (): Promise<Frame | null> => {
    while (true) {
      try {
        return await capture.next();
      } catch (error) {
        if (signal?.aborted) return null;
        if (!(error instanceof CaptureError && options.reconnect && live)) {
          throw error;
        }
        log(`capture failed: ${error.message}; reconnecting in 1 s`);
        await capture.close();
        await new Promise((r) => setTimeout(r, 1000));
        if (signal?.aborted) return null;
        capture = openSource();
      }
    }
  };
  // The capture buffer is reused by the next read: keep what is drawn on.
  const picture = (frame: Frame): Image =>
    pixelFormat === "gray"
      ? { width, height, channels: 1, data: frame.data }
      : { width, height, channels: 3, data: frame.data.slice() };

  const tally = new Tally();
  const requests = new FrameRequests({
    send: options.send ?? "grey",
    // The server draws only when somebody wants the picture.
    serverDraws: options.draw === "server" && wantPicture,
  });
  let failure: unknown;
  try {
    while (!signal?.aborted && tally.frames < (options.frames ?? Infinity)) {
      const t0 = performance.now();
      const frame = await nextFrame();
      if (frame === null) break;
      const t1 = performance.now();
      tally.started ??= t1;
      let current = { index: frame.index, picture: picture(frame) };
      let sent!: SentRequest;
      const replyParts = await exchange.exchange(async () => {
        if (live && exchange.inOutage) {
          // While the server is away, send the newest frame when it is back.
          const newer = await capture.next();
          if (newer) current = { index: newer.index, picture: picture(newer) };
        }
        sent = requests.build(current.picture);
        return sent.parts;
      });
      const t2 = performance.now();
      const reply = replyTo(sent, replyParts);
      const t3 = performance.now();
      const canvas = wantPicture ? annotate(current.picture, reply) : null;
      const t4 = performance.now();
      const result: FrameResult = {
        frame: current.index,
        faces: reply.faces,
        latencyMs: t2 - sent.startedAt,
        timings: {
          capture: tally.frames === 0 ? 0 : t1 - t0,
          encode: sent.builtAt - sent.startedAt,
          exchange: t2 - sent.builtAt,
          decode: t3 - t2,
          draw: canvas && !reply.frame ? t4 - t3 : 0,
        },
        server: reply.timings,
        requestBytes: sent.bytes,
        replyBytes: replyParts.reduce((sum, part) => sum + part.length, 0),
      };
      tally.add(result);
      if (canvas) {
        await outputs.show(canvas, tally.viewInfo(result));
        await options.onPicture?.(canvas, result);
      }
      options.onFrame?.(result);
    }
  } catch (error) {
    if (!signal?.aborted) failure = error;
  }
  tally.ended = performance.now();
  await cleanup.disposeAsync();
  const summary = tally.summary({
    dropped: capture.dropped,
    reconnects: exchange.reconnects,
  });
  if (tally.started !== undefined || failure === undefined) {
    options.onSummary?.(summary);
  }
  if (failure !== undefined) throw failure;
  return summary;
}

/**
 * The end-of-session lines for a log: `done: ...` for people and
 * `summary: {json}` for scripts.
 */
export function summaryLines(summary: SessionSummary): string[] {
  const ms = (value: number) =>
    Number.isFinite(value) ? `${value.toFixed(1)} ms` : "n/a";
  const seen = Object.entries(summary.seen).sort((a, b) => b[1] - a[1]);
  return [
    `done: ${summary.frames} frames in ${summary.seconds.toFixed(2)} s, ${
      summary.fps.toFixed(1)
    } fps, latency p50 ${ms(summary.latency.p50)}, p95 ${
      ms(summary.latency.p95)
    }, ${summary.dropped} frames dropped; ` +
    (seen.length
      ? `faces in ${summary.framesWithFaces} frames: ` +
        seen.map(([label, n]) => `${label} (${n} frames)`).join(", ")
      : "no faces"),
    `summary: ${
      JSON.stringify({
        frames: summary.frames,
        frames_with_faces: summary.framesWithFaces,
        seconds: round(summary.seconds, 2),
        fps: round(summary.fps, 1),
        latency_p50_ms: round(summary.latency.p50, 1),
        latency_p95_ms: round(summary.latency.p95, 1),
        latency_mean_ms: round(summary.latency.mean, 1),
        dropped: summary.dropped,
        reconnects: summary.reconnects,
        seen: summary.seen,
      })
    }`,
  ];
}

/** One `--json` line: `{"frame":12,"faces":[...],"latency_ms":18.4}`. */
export function jsonLine(result: FrameResult): string {
  return JSON.stringify({
    frame: result.frame,
    faces: result.faces.map((f) => ({
      x: f.x,
      y: f.y,
      w: f.w,
      h: f.h,
      label: f.label,
      distance: round(f.distance, 3),
    })),
    latency_ms: round(result.latencyMs, 2),
  });
}

/** Rounds for JSON; NaN (no frames) becomes null. */
function round(value: number, digits: number): number | null {
  return Number.isFinite(value) ? Number(value.toFixed(digits)) : null;
}

/** Cameras and streams are live; files are not. */
function isLive(input: string | undefined): boolean {
  return input === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ||
    input.startsWith("/dev/") ||
    /^(v4l2|avfoundation|dshow|gdigrab|x11grab):/.test(input);
}

/** The server's annotated frame, or the boxes drawn on the frame sent. */
function annotate(picture: Image, reply: FrameReply): Image {
  if (reply.frame) {
    const { width, height, pixels } = reply.frame;
    return { width, height, channels: 3, data: pixels };
  }
  drawFaces(picture, reply.faces);
  return picture;
}

/** The running counts of a session. */
class Tally {
  frames = 0;
  framesWithFaces = 0;
  started: number | undefined;
  ended: number | undefined;
  #latencies: number[] = [];
  #seen = new Map<string, number>();
  #windowStart = performance.now();
  #windowFrames = 0;
  #windowFps = 0;

  add(result: FrameResult): void {
    this.frames++;
    this.#latencies.push(result.latencyMs);
    if (result.faces.length > 0) this.framesWithFaces++;
    for (const label of new Set(result.faces.map((f) => f.label))) {
      this.#seen.set(label, (this.#seen.get(label) ?? 0) + 1);
    }
    this.#windowFrames++;
    const now = performance.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowFps = (this.#windowFrames * 1000) / (now - this.#windowStart);
      this.#windowStart = now;
      this.#windowFrames = 0;
    }
  }

  viewInfo(result: FrameResult) {
    return {
      frames: this.frames,
      fps: this.#windowFps,
      latencyMs: result.latencyMs,
      labels: result.faces.map((f) => f.label),
    };
  }

  summary(
    counts: { dropped: number; reconnects: number },
  ): SessionSummary {
    const ended = this.ended ?? performance.now();
    const started = this.started ?? ended;
    const seconds = (ended - started) / 1000;
    return {
      frames: this.frames,
      framesWithFaces: this.framesWithFaces,
      seconds,
      fps: seconds > 0 ? this.frames / seconds : 0,
      latency: {
        p50: percentile(this.#latencies, 50),
        p95: percentile(this.#latencies, 95),
        mean: mean(this.#latencies),
      },
      ...counts,
      seen: Object.fromEntries(this.#seen),
      started,
      ended,
    };
  }
}
