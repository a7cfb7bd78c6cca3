/**
 * A client session: frames from a camera, file or stream go to the server
 * and come back with the faces named. Per frame: capture, pixels for the
 * wire, exchange with the server, decode, draw, show (web page, window,
 * recording), report (`onFrame`: JSON lines, the bench's timings), count.
 * Several frames are at the server at once (`inFlight`, default 2), so one
 * client keeps several workers busy; answers are still shown and reported
 * in frame order. `client.ts`, `demo.ts` and `bench.ts` all run this.
 *
 * The session follows faces across frames (lib/tracking/tracker.ts, one
 * tracker per session, that is per camera): each request carries the
 * tracks' hints (protocol version 2), so the server skips the recogniser for
 * faces whose name is settled, and each reply feeds the tracker, which names
 * every face after its track. `track: false` sends version 1 requests and
 * names each frame on its own.
 *
 * ```ts
 * import { runSession } from "./lib/client/session.ts";
 * const summary = await runSession({ input: "clip.mp4", everyFrame: true, view: "none" });
 * ```
 *
 * @module
 */

import type { Image } from "../images/image.ts";
import { loadOpenCV } from "../face/opencv.ts";
import type { ReplyFace, Timings } from "../protocol/binary.ts";
import type { TrackedFace, TrackUpdate } from "../tracking/tracker.ts";
import { openCapture } from "../video/capture.ts";
import { findFfmpeg } from "../video/find_ffmpeg.ts";
import { FrameClient, type FrameClientOptions } from "./frame_client.ts";
import { annotate } from "./_annotate.ts";
import { FrameTracks } from "./_frame_tracks.ts";
import { type Answer, runInFlight } from "./_in_flight.ts";
import { openOutputs, type ViewMode } from "./_outputs.ts";
import {
  FrameRequests,
  replyTo,
  type SendFormat,
  type SentRequest,
} from "./_request.ts";
import { type Shot, Shots } from "./_shots.ts";
import { Tally } from "./_tally.ts";

export { jsonLine, summaryLines } from "./_report_lines.ts";
export type { SendFormat, TrackedFace, TrackUpdate, ViewMode };

/**
 * The step that takes a request to the server and brings back its reply.
 * {@linkcode FrameClient} (a REQ socket per frame in flight) is the default.
 * The session calls `exchange` again before earlier calls settle, up to its
 * `inFlight`; each request carries its own frame id, checked in the reply.
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

/**
 * Frames in flight by default: two keep a two-worker server busy (one
 * encodes and sends while the other is at the server).
 */
export const IN_FLIGHT = 2;

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
  /**
   * The faces the server found and named. With tracking, a face the server
   * did not recognise (its track's name is settled) has label `""` and
   * distance NaN; `tracked` has its name.
   */
  faces: ReplyFace[];
  /**
   * With tracking: the same faces with their tracks (id, the track's name,
   * whether it is settled, how sure). What is drawn, printed and shown.
   */
  tracked?: TrackedFace[];
  /** With tracking: the frame's time on the tracker's clock, seconds (see `SessionOptions.track`). */
  time?: number;
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
  /**
   * Frames a live source produced that were never sent (too slow), or whose
   * answer came after a newer frame's (not shown).
   */
  dropped: number;
  /** Times the connection to the server was reopened. */
  reconnects: number;
  /**
   * Per name shown (the track's name with tracking, else the server's
   * label), the number of frames it was seen in.
   */
  seen: Record<string, number>;
  /** With tracking: who was seen and for how long, longest first. */
  people?: PersonSeen[];
  /** `performance.now()` when the first frame came in. */
  started: number;
  /** `performance.now()` when the last frame was done. */
  ended: number;
}

/** A person seen during a session (tracking only). */
export interface PersonSeen {
  /** The name, or `unknown` (each unknown track is its own person). */
  name: string;
  /** False for `unknown`. */
  known: boolean;
  /** Seconds in view, added up over the tracks that carried the name. */
  seconds: number;
  /** Those tracks. */
  tracks: number[];
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
  /**
   * Frames at the server at once, so that one client keeps several workers
   * busy. Default {@linkcode IN_FLIGHT}; 1 = one frame at a time. Live, a
   * frame is only read when one may go, so none waits in a queue.
   */
  inFlight?: number;
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
  /**
   * Follow faces across frames (default true): version 2 requests with track
   * hints, names from each track's evidence. The tracker's clock is the
   * frame number at `fps` (default 30) with `everyFrame`, else the wall
   * clock. False: version 1 requests, each frame named on its own.
   */
  track?: boolean;
  /**
   * With tracking, called with each frame's tracker update and time
   * (seconds), in frame order, and once more at the end with every track
   * that was still alive as lost (events: lib/events/track_events.ts).
   */
  onTracks?: (update: TrackUpdate, time: number) => void;
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
  const connect = options.connect ?? "tcp://127.0.0.1:5555";
  const tracking = options.track ?? true;
  const tracks = tracking
    ? new FrameTracks({ live, fps: options.fps ?? 30 })
    : undefined;

  const outputs = await openOutputs({
    view: options.view ?? "none",
    port: options.port,
    record: options.record,
    width,
    height,
    fps: options.fps ?? 30,
    ffmpeg,
    ffplay: options.ffplay,
    tracks: tracking,
    // The page names an unknown track's person from the crops it kept;
    // the track is recognised again at once, to show the new name.
    enrol: {
      endpoint: connect,
      curve: options.curve,
      onEnrolled: (track) => tracks?.recheck(track),
    },
    log,
  });
  cleanup.defer(() => outputs.close());
  const wantPicture = outputs.wanted || options.onPicture !== undefined;
  if (wantPicture) await loadOpenCV();

  // Grey is enough when nobody looks at the picture.
  const pixelFormat = !wantPicture && (options.send ?? "grey") === "grey"
    ? "grey8"
    : "rgb24";
  const shots = new Shots(() =>
    openCapture({
      input: options.input,
      width,
      height,
      fps: options.fps,
      pixelFormat,
      everyFrame: options.everyFrame,
      ffmpeg,
    }), {
    shape: { width, height, channels: pixelFormat === "grey8" ? 1 : 3 },
    reconnect: (options.reconnect ?? false) && live,
    signal,
    log,
  });
  cleanup.defer(() => shots.close());
  const inFlight = Math.max(1, Math.floor(options.inFlight ?? IN_FLIGHT));
  const exchange = options.exchange ?? new FrameClient(connect, {
    inFlight,
    timeout: options.timeout,
    retries: options.retries ?? (isLive(options.input) ? 0 : 5),
    curve: options.curve,
    log,
  });
  cleanup.defer(() => exchange.close());
  log(`client: ${shots.args.join(" ")} -> ${connect}`);

  // Unblock a pending capture read or exchange at once.
  const stop = () => {
    shots.close().catch(() => {});
    exchange.close().catch(() => {});
  };
  signal?.addEventListener("abort", stop, { once: true });
  cleanup.defer(() => signal?.removeEventListener("abort", stop));

  const tally = new Tally(tracking);
  const requests = new FrameRequests({
    send: options.send ?? "grey",
    // The server draws only when somebody wants the picture.
    serverDraws: options.draw === "server" && wantPicture,
    tracks: tracking,
  });

  /** Sends `first` (or, live during an outage, the newest frame) and waits. */
  const send = (first: Shot): Promise<Answer> => {
    let shot = first;
    let sent!: SentRequest;
    return exchange.exchange(async () => {
      if (live && exchange.inOutage) {
        // While the server is away, send the newest frame when it is back.
        shot = (await shots.read()) ?? shot;
      }
      const plan = tracks?.plan(shot);
      sent = requests.build(shot.picture, plan?.hints, {
        tracksOnly: plan?.tracksOnly ?? false,
      });
      return sent.parts;
    }).then((parts) => ({ shot, sent, parts, receivedAt: performance.now() }));
  };

  /** Decodes, tracks, draws, shows and reports one answer. */
  const finish = async ({ shot, sent, parts, receivedAt }: Answer) => {
    const t2 = performance.now();
    const reply = replyTo(sent, parts);
    // Looks are taken before the boxes are drawn on the picture.
    const update = tracks?.update(shot, reply, { tracksOnly: sent.tracksOnly });
    if (tracks && update) {
      options.onTracks?.(update, tracks.lastTime);
      // Before the boxes are drawn: the page keeps crops of unknown faces.
      outputs.follow(shot.picture, { ...update, frame: shot.index });
    }
    const t3 = performance.now();
    const canvas = wantPicture
      ? annotate(shot.picture, reply, update?.faces)
      : null;
    const t4 = performance.now();
    const result: FrameResult = {
      frame: shot.index,
      faces: reply.faces,
      tracked: update?.faces,
      time: tracks && update ? tracks.lastTime : undefined,
      latencyMs: receivedAt - sent.startedAt,
      timings: {
        capture: tally.frames === 0 ? 0 : shot.waited,
        encode: sent.builtAt - sent.startedAt,
        exchange: receivedAt - sent.builtAt,
        decode: t3 - t2,
        draw: canvas && !reply.frame ? t4 - t3 : 0,
      },
      server: reply.timings,
      requestBytes: sent.bytes,
      replyBytes: parts.reduce((sum, part) => sum + part.length, 0),
    };
    tally.add(result);
    if (canvas) {
      await outputs.show(canvas, tally.viewInfo(result));
      await options.onPicture?.(canvas, result);
    }
    options.onFrame?.(result);
  };

  const { stale, failure } = await runInFlight({
    read: () => shots.read(),
    send,
    finish,
    onRead: (shot) => tally.started ??= shot.at,
  }, { inFlight, limit: options.frames ?? Infinity, signal });
  tally.ended = performance.now();
  // Whoever is still in view leaves when the session ends.
  if (tracks) options.onTracks?.(tracks.endAll(), tracks.lastTime);
  await cleanup.disposeAsync();
  const summary = tally.summary({
    dropped: shots.dropped + stale,
    reconnects: exchange.reconnects,
  });
  if (tally.started !== undefined || failure === undefined) {
    options.onSummary?.(summary);
  }
  if (failure !== undefined) throw failure;
  return summary;
}

/** Cameras and streams are live; files are not. */
function isLive(input: string | undefined): boolean {
  return input === undefined || /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ||
    input.startsWith("/dev/") ||
    /^(v4l2|avfoundation|dshow|gdigrab|x11grab):/.test(input);
}
