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
 * One module, longer than most, on purpose: it is the per-frame pipeline in
 * the order a frame goes through it (capture, request, exchange, tracks,
 * outputs, summary), which the client, the demo and the bench all run.
 *
 * @module
 */

import { drawFaces, type DrawnFace } from "../images/draw.ts";
import type { Image } from "../images/image.ts";
import { loadOpenCV } from "../face/opencv.ts";
import { mean, percentile } from "../measure/stats.ts";
import type { FrameReply, ReplyFace, Timings } from "../protocol/binary.ts";
import { lookAt } from "../tracking/appearance.ts";
import { SceneWatch } from "../tracking/scene.ts";
import {
  type TrackedFace,
  Tracker,
  type TrackUpdate,
  UNKNOWN,
} from "../tracking/tracker.ts";
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

/** A frame as read, copied out of the capture's buffer. */
interface Shot {
  /** Frames read before it (its index restarts when a source is reopened). */
  seq: number;
  index: number;
  picture: Image;
  /** ms waited for it. */
  waited: number;
  /** `performance.now()` when it came in. */
  at: number;
}

/** A frame's request and the reply to it. */
interface Answer {
  shot: Shot;
  sent: SentRequest;
  parts: Uint8Array[];
  receivedAt: number;
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

  const outputs = await openOutputs({
    view: options.view ?? "none",
    port: options.port,
    record: options.record,
    width,
    height,
    fps: options.fps ?? 30,
    ffmpeg,
    ffplay: options.ffplay,
    tracks: options.track ?? true,
    // The page names an unknown track's person from the crops it kept;
    // the track is recognised again at once, to show the new name.
    enrol: {
      endpoint: connect,
      curve: options.curve,
      onEnrolled: (track) => tracker?.recheck(track),
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
  const inFlight = Math.max(1, Math.floor(options.inFlight ?? IN_FLIGHT));
  const exchange = options.exchange ?? new FrameClient(connect, {
    inFlight,
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
  // The capture reuses the buffer on the next read, and frames in flight
  // (resent on a retry, drawn on later) outlive it: keep a copy.
  const picture = (frame: Frame): Image => ({
    width,
    height,
    channels: pixelFormat === "grey8" ? 1 : 3,
    data: frame.data.slice(),
  });

  const tracking = options.track ?? true;
  const tracker = tracking ? new Tracker() : undefined;
  const scene = new SceneWatch();
  const frameSeconds = 1 / (options.fps ?? 30);
  // A file's own clock: frames come as fast as answers, not at its rate.
  const timeOf = (shot: Shot) =>
    live ? shot.at / 1000 : shot.index * frameSeconds;
  const tally = new Tally(tracking);
  const requests = new FrameRequests({
    send: options.send ?? "grey",
    // The server draws only when somebody wants the picture.
    serverDraws: options.draw === "server" && wantPicture,
    tracks: tracking,
  });

  /** The capture hands out one frame per call: reads wait their turn. */
  let reads: Promise<unknown> = Promise.resolve();
  let seq = 0;
  const readShot = (): Promise<Shot | null> => {
    const read = reads.then(async (): Promise<Shot | null> => {
      const t0 = performance.now();
      const frame = await nextFrame();
      if (frame === null) return null;
      const at = performance.now();
      return {
        seq: seq++,
        index: frame.index,
        picture: picture(frame),
        waited: at - t0,
        at,
      };
    });
    reads = read.catch(() => {});
    return read;
  };

  /** Sends `first` (or, live during an outage, the newest frame) and waits. */
  const send = (first: Shot): Promise<Answer> => {
    let shot = first;
    let sent!: SentRequest;
    return exchange.exchange(async () => {
      if (live && exchange.inOutage) {
        // While the server is away, send the newest frame when it is back.
        shot = (await readShot()) ?? shot;
      }
      // Where the tracks should be in this frame, and which faces need the
      // recogniser (the picture is not drawn on yet).
      const picture = shot.picture;
      // Between full scans the server looks only around the tracks, unless
      // the picture changed where that search does not look.
      const tracksOnly = tracker
        ? !tracker.fullScan(timeOf(shot), {
          changedAway: (boxes) => scene.changedAway(picture, boxes),
        })
        : false;
      const hints = tracker?.hints(timeOf(shot), {
        look: (box) => lookAt(picture, box),
        fullScan: !tracksOnly,
      });
      sent = requests.build(picture, hints, { tracksOnly });
      return sent.parts;
    }).then((parts) => ({ shot, sent, parts, receivedAt: performance.now() }));
  };

  let lastTime = 0;
  /** Decodes, tracks, draws, shows and reports one answer. */
  const finish = async ({ shot, sent, parts, receivedAt }: Answer) => {
    const t2 = performance.now();
    const reply = replyTo(sent, parts);
    const time = timeOf(shot);
    lastTime = time;
    // Looks are taken before the boxes are drawn on the picture.
    const update = tracker?.update(reply.faces, {
      time,
      threshold: reply.threshold,
      look: (box) => lookAt(shot.picture, box),
    });
    if (tracker && !sent.tracksOnly) scene.scanned(shot.picture);
    if (update) {
      options.onTracks?.(update, time);
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
      time: update ? time : undefined,
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

  // Up to `inFlight` frames at the server; answers are taken in the order
  // the frames were sent, so results stay in frame order. A new frame is
  // read only when a slot is free: live, that is the newest one.
  const limit = options.frames ?? Infinity;
  const waiting: Promise<Answer>[] = [];
  let reading: Promise<Shot | null> | null = null;
  let sourceEnded = false;
  let sentFrames = 0;
  let lastShown = -1; // seq of the last frame shown
  let stale = 0;
  let failure: unknown;
  try {
    while (!signal?.aborted) {
      if (
        reading === null && !sourceEnded && waiting.length < inFlight &&
        sentFrames < limit
      ) {
        reading = readShot();
      }
      if (reading === null && waiting.length === 0) break;
      const next = await Promise.race<{ read: Shot | null } | Answer>([
        ...(reading ? [reading.then((read) => ({ read }))] : []),
        ...(waiting.length ? [waiting[0]] : []),
      ]);
      if ("read" in next) {
        reading = null;
        if (next.read === null) {
          sourceEnded = true;
          continue;
        }
        tally.started ??= next.read.at;
        const answer = send(next.read);
        answer.catch(() => {}); // observed in turn, or left by a stop
        waiting.push(answer);
        sentFrames++;
        continue;
      }
      waiting.shift();
      // Live, a retry may have swapped in a newer frame than a later
      // request's: an answer older than one shown is never shown.
      if (next.shot.seq <= lastShown) {
        stale++;
        continue;
      }
      lastShown = next.shot.seq;
      await finish(next);
    }
  } catch (error) {
    if (!signal?.aborted) failure = error;
  }
  tally.ended = performance.now();
  // Whoever is still in view leaves when the session ends.
  if (tracker) {
    options.onTracks?.({ faces: [], lost: tracker.endAll() }, lastTime);
  }
  await cleanup.disposeAsync();
  const summary = tally.summary({
    dropped: capture.dropped + stale,
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
  // With tracks: who, and how long; without: labels, in how many frames.
  const who = summary.people
    ? summary.people.map((p) =>
      `${p.known ? p.name : `${p.name} #${p.tracks[0]}`} ${
        p.seconds.toFixed(1)
      } s`
    )
    : seen.map(([label, n]) => `${label} (${n} frames)`);
  return [
    `done: ${summary.frames} frames in ${summary.seconds.toFixed(2)} s, ${
      summary.fps.toFixed(1)
    } fps, latency p50 ${ms(summary.latency.p50)}, p95 ${
      ms(summary.latency.p95)
    }, ${summary.dropped} frames dropped; ` +
    (who.length
      ? `faces in ${summary.framesWithFaces} frames: ${who.join(", ")}`
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
        ...(summary.people
          ? {
            people: summary.people.map((p) => ({
              ...p,
              seconds: round(p.seconds, 2),
            })),
          }
          : {}),
      })
    }`,
  ];
}

/**
 * One `--json` line: `{"frame":12,"faces":[...],"latency_ms":18.4}`. Each
 * face has the server's `label` and `distance` for this frame (null when
 * the server skipped it) and, with tracking, its `track` and the track's
 * `name`.
 */
export function jsonLine(result: FrameResult): string {
  return JSON.stringify({
    frame: result.frame,
    faces: result.faces.map((f, i) => {
      const tracked = result.tracked?.[i];
      return {
        x: f.x,
        y: f.y,
        w: f.w,
        h: f.h,
        label: f.recognised === false ? null : f.label,
        distance: round(f.distance, 3),
        ...(tracked ? { track: tracked.track, name: tracked.name } : {}),
      };
    }),
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

/**
 * The server's annotated frame, or the boxes drawn on the frame sent: with
 * tracks `#3 s1` (track and name), else the label and distance.
 */
function annotate(
  picture: Image,
  reply: FrameReply,
  tracked: TrackedFace[] | undefined,
): Image {
  if (reply.frame) {
    const { width, height, pixels } = reply.frame;
    return { width, height, channels: 3, data: pixels };
  }
  drawFaces(picture, tracked?.map(asShown) ?? reply.faces);
  return picture;
}

/** A tracked face as drawn and shown: named, and captioned, by its track. */
function asShown(face: TrackedFace): DrawnFace {
  return { ...face, label: face.name, text: `#${face.track} ${face.name}` };
}

/** A stretch of frames in which one track carried one name. */
interface Stretch {
  name: string;
  track: number;
  first: number;
  last: number;
  frames: number;
}

/** The running counts of a session. */
class Tally {
  frames = 0;
  framesWithFaces = 0;
  started: number | undefined;
  ended: number | undefined;
  #latencies: number[] = [];
  #seen = new Map<string, number>();
  #stretches = new Map<string, Stretch>();
  #tracking: boolean;
  #windowStart = performance.now();
  #windowFrames = 0;
  #windowFps = 0;

  /** `tracking`: the results have tracks; count people. */
  constructor(tracking: boolean) {
    this.#tracking = tracking;
  }

  add(result: FrameResult): void {
    this.frames++;
    this.#latencies.push(result.latencyMs);
    if (result.faces.length > 0) this.framesWithFaces++;
    const shown = result.tracked?.map((f) => f.name) ??
      result.faces.map((f) => f.label);
    for (const label of new Set(shown)) {
      this.#seen.set(label, (this.#seen.get(label) ?? 0) + 1);
    }
    const time = result.time ?? 0;
    for (const { track, name } of result.tracked ?? []) {
      const key = `${track} ${name}`;
      const stretch = this.#stretches.get(key);
      if (stretch) {
        stretch.last = time;
        stretch.frames++;
      } else {
        this.#stretches.set(key, {
          name,
          track,
          first: time,
          last: time,
          frames: 1,
        });
      }
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
    };
  }

  /**
   * Who was seen, for how long: a known name over all its tracks; each
   * track that never had a name as an unknown person of its own (a named
   * track's unknown frames are that person not recognised yet). A stretch
   * of n frames from `first` to `last` lasted `(last - first) * n / (n - 1)`:
   * one more frame's time.
   */
  people(): PersonSeen[] {
    const named = new Set<number>();
    for (const { name, track } of this.#stretches.values()) {
      if (name !== UNKNOWN) named.add(track);
    }
    const people = new Map<string, PersonSeen>();
    for (const stretch of this.#stretches.values()) {
      const { name, track, first, last, frames } = stretch;
      if (name === UNKNOWN && named.has(track)) continue;
      const seconds = frames > 1 ? (last - first) * frames / (frames - 1) : 0;
      const key = name === UNKNOWN ? `${name} ${track}` : name;
      const person = people.get(key) ??
        { name, known: name !== UNKNOWN, seconds: 0, tracks: [] };
      person.seconds += seconds;
      if (!person.tracks.includes(track)) person.tracks.push(track);
      people.set(key, person);
    }
    return [...people.values()].sort((a, b) => b.seconds - a.seconds);
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
      ...(this.#tracking ? { people: this.people() } : {}),
      started,
      ended,
    };
  }
}
