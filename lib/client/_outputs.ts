/**
 * Where a session's annotated picture goes: the web page (`--view web`), an
 * ffplay window (`--view window`) and a recording (`--record`). Opened
 * before capture starts, so a busy port fails before ffmpeg runs.
 *
 * Until the session follows people across frames itself, the page's "here
 * now" and "unknown faces" come from {@linkcode RecentFaces}: labels seen in
 * the last second, and crops of unknown faces.
 *
 * @module
 */

import type { Face } from "../face/face.ts";
import type { Box, Image } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";
import { findFfplay } from "../video/find_ffmpeg.ts";
import {
  openRecorder,
  openViewer,
  type Recorder,
  type Viewer,
} from "../video/output.ts";
import {
  startWebView,
  type ViewPerson,
  type ViewUnknown,
  type WebView,
  type WebViewOptions,
} from "./web_view.ts";

/** How the picture is shown. */
export type ViewMode = "web" | "window" | "none";

/** Options for {@linkcode openOutputs}. */
export interface OutputOptions {
  view: ViewMode;
  port?: number;
  record?: string;
  width: number;
  height: number;
  fps: number;
  ffmpeg: string;
  ffplay?: string;
  /** Names unknown faces from the web page; absent, enrolment is off there. */
  onEnrol?: WebViewOptions["onEnrol"];
  log: (line: string) => void;
}

/** What one shown frame carries besides its picture. */
export interface ShowInfo {
  /** Frames processed so far. */
  frames: number;
  /** Frames per second. */
  fps: number;
  /** The frame's latency, ms. */
  latencyMs: number;
  /** The faces of the frame, as named by the server. */
  faces: Face[];
  /** A status line for the page. */
  status?: string;
  /** Who is here, from tracks; absent, made from `faces` (labels of the last second). */
  people?: ViewPerson[];
  /** Unknown faces, from tracks; absent, crops of `faces` named `unknown`. */
  unknowns?: ViewUnknown[];
}

/** The open outputs. */
export interface Outputs {
  /** True when something shows or records the picture. */
  readonly wanted: boolean;
  /** Shows and records one annotated RGB frame. */
  show(canvas: Image, info: ShowInfo): Promise<void>;
  /** Closes them all; says how many frames were recorded. */
  close(): Promise<void>;
}

/** Opens the outputs `options` ask for. */
export async function openOutputs(options: OutputOptions): Promise<Outputs> {
  const { width, height, fps, log } = options;
  let web: WebView | undefined;
  let viewer: Viewer | undefined;
  let recorder: Recorder | undefined;
  const recent = new RecentFaces();
  if (options.view === "web") {
    web = startWebView({ port: options.port, onEnrol: options.onEnrol });
    log(`view: open ${web.url} in a browser`);
  }
  try {
    if (options.view === "window") {
      const ffplay = await findFfplay({ override: options.ffplay });
      viewer = openViewer({ width, height, fps, title: "facezmq", ffplay });
    }
    if (options.record !== undefined) {
      recorder = openRecorder(options.record, {
        width,
        height,
        fps,
        ffmpeg: options.ffmpeg,
      });
    }
  } catch (error) {
    await viewer?.close();
    await web?.close();
    throw error;
  }
  return {
    wanted: web !== undefined || viewer !== undefined ||
      recorder !== undefined,
    async show(canvas, info) {
      if (recorder) await recorder.write(canvas.data);
      if (viewer && !viewer.closed) await viewer.write(canvas.data);
      if (web) {
        // Kept up even with no browser open, so a page opened later shows
        // the faces of the last minute.
        if (!info.people || !info.unknowns) recent.add(canvas, info.faces);
        web.update({
          picture: canvas,
          frames: info.frames,
          fps: info.fps,
          latencyMs: info.latencyMs,
          status: info.status,
          people: info.people ?? recent.people(),
          unknowns: info.unknowns ?? recent.unknowns(),
        });
      }
    },
    async close() {
      if (recorder) {
        await recorder.close();
        log(`recorded ${recorder.frames} frames to ${options.record}`);
      }
      await viewer?.close();
      await web?.close();
    },
  };
}

/** Options for {@linkcode RecentFaces}. */
export interface RecentFacesOptions {
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
}

/** An unknown face followed by where its box was. */
interface Stranger {
  track: number;
  since: number;
  lastSeen: number;
  box: Box;
  thumbnail: Uint8Array;
  thumbnailAt: number;
  /** When it was seen in the last second. */
  seen: number[];
}

/** A label seen lately. */
interface Presence {
  track: number;
  since: number;
  seen: number[];
}

/** A person is "here" while seen in the last second. */
const HERE_MS = 1000;
/** Unknown faces stay on the page this long after they left. */
const KEEP_UNKNOWN_MS = 60_000;
/** At most this many unknown faces on the page. */
const MAX_UNKNOWNS = 8;
/** A thumbnail is refreshed at most this often. */
const THUMBNAIL_EVERY_MS = 1000;
/** Longest side of a thumbnail, px. */
const THUMBNAIL_SIZE = 128;
/** Boxes this much alike (intersection over union) are the same unknown face. */
const SAME_FACE_IOU = 0.3;

/**
 * What the page shows while the session has no tracks: the labels seen in
 * the last second ("since" = when the label came, "confidence" = the share
 * of that second's frames it was in), and unknown faces told apart by where
 * their box is, each with a JPEG crop. Track numbers are made up here and
 * never reused.
 */
export class RecentFaces {
  #now: () => number;
  #nextTrack = 1;
  #frames: number[] = [];
  #labels = new Map<string, Presence>();
  #strangers: Stranger[] = [];

  /** Starts with nobody seen. */
  constructor(options: RecentFacesOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** Takes one frame (`picture` may carry the boxes drawn: crops stay inside them). */
  add(picture: Image, faces: Face[]): void {
    const now = this.#now();
    this.#frames.push(now);
    for (const label of new Set(faces.map((f) => f.label))) {
      if (label === "unknown") continue;
      let presence = this.#labels.get(label);
      if (!presence || now - presence.seen.at(-1)! > HERE_MS) {
        presence = { track: this.#nextTrack++, since: now, seen: [] };
        this.#labels.set(label, presence);
      }
      presence.seen.push(now);
    }
    const matched = new Set<Stranger>();
    for (const face of faces.filter((f) => f.label === "unknown")) {
      const nearest = this.#strangers
        .filter((s) => !matched.has(s) && now - s.lastSeen <= HERE_MS)
        .map((s) => ({ s, iou: iou(s.box, face) }))
        .sort((a, b) => b.iou - a.iou)[0];
      let stranger = nearest && nearest.iou >= SAME_FACE_IOU
        ? nearest.s
        : undefined;
      if (!stranger) {
        const thumbnail = thumbnailOf(picture, face);
        if (!thumbnail) continue;
        stranger = {
          track: this.#nextTrack++,
          since: now,
          lastSeen: now,
          box: face,
          thumbnail,
          thumbnailAt: now,
          seen: [],
        };
        this.#strangers.unshift(stranger);
      } else if (now - stranger.thumbnailAt >= THUMBNAIL_EVERY_MS) {
        stranger.thumbnail = thumbnailOf(picture, face) ?? stranger.thumbnail;
        stranger.thumbnailAt = now;
      }
      matched.add(stranger);
      stranger.box = face;
      stranger.lastSeen = now;
      stranger.seen.push(now);
    }
    this.#forget(now);
  }

  /** Who was seen in the last second: people by label, then unknown faces. */
  people(): ViewPerson[] {
    const now = this.#now();
    this.#forget(now);
    const frames = Math.max(1, this.#frames.length);
    const people: ViewPerson[] = [];
    for (const [name, { track, since, seen }] of this.#labels) {
      if (seen.length === 0) continue;
      people.push({
        track,
        name,
        since,
        confidence: Math.min(1, seen.length / frames),
        known: true,
      });
    }
    people.sort((a, b) => a.since - b.since);
    for (const { track, since, seen } of this.#strangers) {
      if (seen.length === 0) continue;
      const confidence = Math.min(1, seen.length / frames);
      people.push({ track, name: "unknown", since, confidence, known: false });
    }
    return people;
  }

  /** Unknown faces of the last minute, newest first. */
  unknowns(): ViewUnknown[] {
    return this.#strangers.map(({ track, thumbnail, since }) => ({
      track,
      thumbnail,
      since,
    }));
  }

  /** Drops sightings older than a second and strangers older than a minute. */
  #forget(now: number): void {
    const recent = (times: number[]) => {
      while (times.length > 0 && now - times[0] > HERE_MS) times.shift();
    };
    recent(this.#frames);
    for (const [label, presence] of this.#labels) {
      recent(presence.seen);
      if (presence.seen.length === 0) this.#labels.delete(label);
    }
    for (const stranger of this.#strangers) recent(stranger.seen);
    this.#strangers = this.#strangers
      .filter((s) => now - s.lastSeen <= KEEP_UNKNOWN_MS)
      .slice(0, MAX_UNKNOWNS);
  }
}

/** Intersection over union of two boxes. */
function iou(a: Box, b: Box): number {
  const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
  const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / (a.w * a.h + b.w * b.h - inter);
}

/**
 * A JPEG of the inside of `box` (2 px in, clear of the drawn box), shrunk
 * by averaging to at most {@linkcode THUMBNAIL_SIZE} px; undefined when
 * the box is too small or outside the picture.
 */
export function thumbnailOf(picture: Image, box: Box): Uint8Array | undefined {
  const inset = 2;
  const x0 = Math.max(0, Math.round(box.x) + inset);
  const y0 = Math.max(0, Math.round(box.y) + inset);
  const x1 = Math.min(picture.width, Math.round(box.x + box.w) - inset);
  const y1 = Math.min(picture.height, Math.round(box.y + box.h) - inset);
  if (x1 - x0 < 8 || y1 - y0 < 8) return undefined;
  const step = Math.ceil(Math.max(x1 - x0, y1 - y0) / THUMBNAIL_SIZE);
  const width = Math.floor((x1 - x0) / step);
  const height = Math.floor((y1 - y0) / step);
  const c = picture.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let k = 0; k < c; k++) {
        let sum = 0;
        for (let dy = 0; dy < step; dy++) {
          const row = (y0 + y * step + dy) * picture.width;
          for (let dx = 0; dx < step; dx++) {
            sum += picture.data[(row + x0 + x * step + dx) * c + k];
          }
        }
        data[(y * width + x) * c + k] = Math.round(sum / (step * step));
      }
    }
  }
  return encodeJpeg({ width, height, channels: c, data }, { quality: 85 });
}
