/**
 * Where a session's annotated picture goes: the web page (`--view web`), an
 * ffplay window (`--view window`) and a recording (`--record`). Opened
 * before capture starts, so a busy port fails before ffmpeg runs.
 *
 * The page's lists come from the session's tracks ({@linkcode PageFaces}):
 * "here now" is the live tracks, "unknown faces" the tracks the recogniser
 * settled on `unknown`, each with a thumbnail and a few good, varied crops
 * kept for the page's "name this person" box, which enrols them
 * (lib/client/enrol.ts) and has the track recognised again at once.
 *
 * @module
 */

import type { Box, Image } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";
import type { EnrolReply } from "../protocol/enrol.ts";
import { type TrackUpdate, UNKNOWN } from "../tracking/tracker.ts";
import { findFfplay } from "../video/find_ffmpeg.ts";
import {
  openRecorder,
  openViewer,
  type Recorder,
  type Viewer,
} from "../video/output.ts";
import {
  FaceSelection,
  SELECT_DEFAULTS,
  type SelectOptions,
} from "./_enrol_select.ts";
import {
  cropForEnrolment,
  type EnrolFace,
  enrolFaces,
  type EnrolOptions,
} from "./enrol.ts";
import {
  type EnrolRequest,
  type EnrolResult,
  startWebView,
  type ViewPerson,
  type ViewUnknown,
  type WebView,
} from "./web_view.ts";

/** How the picture is shown. */
export type ViewMode = "web" | "window" | "none";

/** Where and how the page's "name this person" box enrols. */
export interface PageEnrolOptions {
  /** The server. */
  endpoint: string;
  /** CURVE keys, the session's. */
  curve?: EnrolOptions["curve"];
  /**
   * Called once a track's person is enrolled, so that its face is
   * recognised again at once (`Tracker.recheck`).
   */
  onEnrolled?: (track: number) => void;
}

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
  /**
   * The session follows faces and gives each frame's tracks to
   * {@linkcode Outputs.follow}; without, the page lists nobody and cannot
   * name anybody.
   */
  tracks: boolean;
  /** Lets the page name unknown faces; absent, enrolment is off there. */
  enrol?: PageEnrolOptions;
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
  /** A status line for the page. */
  status?: string;
}

/** A frame's tracks, for {@linkcode Outputs.follow}. */
export interface FrameTracks extends TrackUpdate {
  /** The frame's number in the source (spaces out the enrolment crops). */
  frame: number;
}

/** The open outputs. */
export interface Outputs {
  /** True when something shows or records the picture. */
  readonly wanted: boolean;
  /**
   * Takes a frame's tracks with its picture, before anything is drawn on
   * it: the page's lists, thumbnails and enrolment crops come from them.
   */
  follow(picture: Image, tracks: FrameTracks): void;
  /** Shows and records one annotated RGB frame. */
  show(canvas: Image, info: ShowInfo): Promise<void>;
  /** Closes them all; says how many frames were recorded. */
  close(): Promise<void>;
}

/** The page's status line when the session does not follow faces. */
const NO_TRACKS_STATUS =
  "faces are not followed (--no-track): nobody is listed";
/** Why the page cannot name people when the session does not follow faces. */
export const NO_TRACKS_ENROL =
  "naming a face here needs it followed across frames: drop --no-track";

/** Opens the outputs `options` ask for. */
export async function openOutputs(options: OutputOptions): Promise<Outputs> {
  const { width, height, fps, log } = options;
  let web: WebView | undefined;
  let viewer: Viewer | undefined;
  let recorder: Recorder | undefined;
  const faces = options.view === "web" && options.tracks
    ? new PageFaces()
    : undefined;
  if (options.view === "web") {
    const enrol = options.enrol;
    web = startWebView({
      port: options.port,
      onEnrol: faces && enrol
        ? (request) => enrolTrack(request, { faces, ...enrol })
        : undefined,
      enrolOff: options.tracks ? undefined : NO_TRACKS_ENROL,
    });
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
    follow(picture, tracks) {
      // Kept up even with no browser open, so a page opened later shows
      // the unknown faces of the last minute, ready to be named.
      faces?.add(picture, tracks);
    },
    async show(canvas, info) {
      if (recorder) await recorder.write(canvas.data);
      if (viewer && !viewer.closed) await viewer.write(canvas.data);
      web?.update({
        picture: canvas,
        frames: info.frames,
        fps: info.fps,
        latencyMs: info.latencyMs,
        status: info.status ?? (faces ? undefined : NO_TRACKS_STATUS),
        people: faces?.people() ?? [],
        unknowns: faces?.unknowns() ?? [],
      });
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

/**
 * Enrols `request.name` from the crops kept of `request.track`; the answer
 * is the server's (`Ada enrolled: 5 faces, live now`) or its one-line
 * refusal. Never rejects.
 */
async function enrolTrack(
  request: EnrolRequest,
  options: PageEnrolOptions & { faces: PageFaces },
): Promise<EnrolResult> {
  const { track, name } = request;
  const crops = options.faces.cropsOf(track);
  if (crops === undefined) {
    return {
      ok: false,
      message: "this face is no longer on the page (unknown faces stay a " +
        "minute after they leave)",
    };
  }
  if (crops.length === 0) {
    const size = options.faces.minFaceSize;
    return {
      ok: false,
      message: `no good picture of this face yet (it must be ${size} px or ` +
        "more, and sharp): wait until it faces the camera",
    };
  }
  let reply: EnrolReply;
  try {
    reply = await enrolFaces(options.endpoint, name, crops, {
      curve: options.curve,
    });
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
  options.faces.enrolled(track);
  options.onEnrolled?.(track);
  return { ok: true, message: enrolledText(reply, crops.length) };
}

/** `Ada enrolled: 5 faces, live now`; for a known name, with its total. */
function enrolledText(reply: EnrolReply, sent: number): string {
  const added = reply.added === sent
    ? plural(reply.added, "face")
    : `${reply.added} of ${plural(sent, "face")}`;
  return reply.newPerson
    ? `${reply.name} enrolled: ${added}, live now`
    : `${reply.name}: ${added} added (${reply.faces} in all), live now`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Options for {@linkcode PageFaces}. */
export interface PageFacesOptions {
  /** The clock, ms since the epoch. Default `Date.now`. */
  now?: () => number;
  /** Crops kept per unknown face for enrolment. Default 5. */
  crops?: number;
  /** Which crops are good enough (as `deno task enroll`'s). */
  select?: SelectOptions;
}

/** A track as the page sees it. */
interface Followed {
  track: number;
  name: string;
  /** When it was first seen, ms since the epoch. */
  since: number;
  confidence: number;
  /**
   * Had a name (or was given one here): a known person's track, which an
   * `unknown` answer or two do not make a stranger.
   */
  named: boolean;
  /** Never named and settled on `unknown`: listed among the unknown faces. */
  listed: boolean;
  /** Was listed: kept a while after it is lost, for a name box in use. */
  shown: boolean;
  /** When the tracker lost it (a listed face stays a while). */
  lostAt?: number;
  thumbnail?: Uint8Array;
  thumbnailAt: number;
  selection: FaceSelection;
  crops: EnrolFace[];
}

/** Unknown faces stay on the page this long after they left. */
const KEEP_UNKNOWN_MS = 60_000;
/** At most this many unknown faces on the page. */
const MAX_UNKNOWNS = 8;
/** A thumbnail is refreshed at most this often. */
const THUMBNAIL_EVERY_MS = 1000;
/** Longest side of a thumbnail, px. */
const THUMBNAIL_SIZE = 128;

/**
 * What the page lists, from the session's tracks. Here now: every live
 * track (a face missed for a frame or two is still here), known people
 * first, each since its track began, as sure as its track. Unknown faces:
 * tracks settled on `unknown` that never had a name (a new track is
 * `unknown` until its first answers name it, and a named one that turns
 * `unknown` is its person not recognised for now, as in the session's
 * summary), newest first, kept a minute after they leave; they leave the
 * list once named.
 *
 * For enrolment, each track keeps its first few crops that
 * `deno task enroll` would keep (lib/client/_enrol_select.ts: big enough,
 * sharp, no near-duplicate), 1.5 times the face, from the full frame, for
 * as long as it is `unknown`.
 */
export class PageFaces {
  #now: () => number;
  #maxCrops: number;
  #select: SelectOptions;
  #followed = new Map<number, Followed>();

  /** Starts with nobody seen. */
  constructor(options: PageFacesOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxCrops = options.crops ?? 5;
    this.#select = options.select ?? {};
  }

  /** Smallest face side a crop is kept of, px. */
  get minFaceSize(): number {
    return this.#select.minFaceSize ?? SELECT_DEFAULTS.minFaceSize;
  }

  /** Takes one frame's tracks and its picture (nothing drawn on it). */
  add(picture: Image, tracks: FrameTracks): void {
    const now = this.#now();
    for (const face of tracks.faces) {
      let followed = this.#followed.get(face.track);
      if (!followed || followed.lostAt !== undefined) {
        followed = {
          track: face.track,
          name: face.name,
          since: now,
          confidence: 0,
          named: false,
          listed: false,
          shown: false,
          thumbnailAt: -Infinity,
          selection: new FaceSelection(this.#select),
          crops: [],
        };
        this.#followed.set(face.track, followed);
      }
      followed.name = face.name;
      followed.confidence = face.confidence;
      if (face.name !== UNKNOWN) {
        followed.named = true;
        followed.listed = false;
      }
      if (followed.named) continue;
      if (face.settled) followed.listed = followed.shown = true;
      if (followed.crops.length < this.#maxCrops) {
        const crop = this.#goodCrop(followed, picture, face, tracks.frame);
        if (crop) followed.crops.push(crop);
      }
      if (followed.listed && now - followed.thumbnailAt >= THUMBNAIL_EVERY_MS) {
        followed.thumbnail = thumbnailOf(picture, face) ?? followed.thumbnail;
        followed.thumbnailAt = now;
      }
    }
    for (const { track } of tracks.lost) {
      const followed = this.#followed.get(track);
      if (followed?.shown) followed.lostAt = now;
      else this.#followed.delete(track);
    }
    this.#forget(now);
  }

  /** Who is here now: known people, then unknown faces, each by arrival. */
  people(): ViewPerson[] {
    const here = [...this.#followed.values()]
      .filter((f) => f.lostAt === undefined)
      .map(({ track, name, since, confidence }): ViewPerson => ({
        track,
        name,
        since,
        confidence,
        known: name !== UNKNOWN,
      }));
    return [
      ...here.filter((p) => p.known).sort((a, b) => a.since - b.since),
      ...here.filter((p) => !p.known).sort((a, b) => a.since - b.since),
    ];
  }

  /** Unknown faces with a thumbnail, newest first, at most eight. */
  unknowns(): ViewUnknown[] {
    return this.#listed().flatMap(({ track, thumbnail, since }) =>
      thumbnail ? [{ track, thumbnail, since }] : []
    ).slice(0, MAX_UNKNOWNS);
  }

  /**
   * The crops kept of `track` for enrolment (maybe none yet); undefined
   * when the page no longer follows it.
   */
  cropsOf(track: number): EnrolFace[] | undefined {
    const crops = this.#followed.get(track)?.crops;
    return crops ? [...crops] : undefined;
  }

  /** `track`'s person was enrolled: no longer an unknown face. */
  enrolled(track: number): void {
    const followed = this.#followed.get(track);
    if (!followed) return;
    followed.named = true;
    followed.listed = false;
  }

  /** The faces listed now, newest first. */
  #listed(): Followed[] {
    return this.#newestFirst((f) => f.listed);
  }

  #newestFirst(which: (followed: Followed) => boolean): Followed[] {
    return [...this.#followed.values()].filter(which)
      .sort((a, b) => b.since - a.since);
  }

  /** The enrolment crop of `box` when it is one `deno task enroll` would keep. */
  #goodCrop(
    followed: Followed,
    picture: Image,
    box: Box,
    frame: number,
  ): EnrolFace | undefined {
    // Size and spacing first: most frames stop here, before any pixel.
    if (followed.selection.precheck(frame, box, picture)) return undefined;
    // Only the face is made grey: the selection looks at nothing else.
    const region = greyRegion(picture, box);
    if (!region) return undefined;
    const verdict = followed.selection.consider(frame, region.grey, [
      region.box,
    ]);
    if (!verdict.keep) return undefined;
    return cropForEnrolment(picture, {
      ...verdict.box,
      x: verdict.box.x + region.x,
      y: verdict.box.y + region.y,
    });
  }

  /** Drops unknown faces gone for a minute, and gone ones beyond eight. */
  #forget(now: number): void {
    for (const followed of this.#followed.values()) {
      if (
        followed.lostAt !== undefined && now - followed.lostAt > KEEP_UNKNOWN_MS
      ) {
        this.#followed.delete(followed.track);
      }
    }
    const gone = this.#newestFirst((f) => f.lostAt !== undefined);
    for (const followed of gone.slice(MAX_UNKNOWNS)) {
      this.#followed.delete(followed.track);
    }
  }
}

/**
 * The grey pixels of `box` cut to the picture, with the box in them and
 * where they are; undefined when the box is outside.
 */
function greyRegion(
  picture: Image,
  box: Box,
): { grey: Image; box: Box; x: number; y: number } | undefined {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(picture.width, Math.round(box.x + box.w));
  const y1 = Math.min(picture.height, Math.round(box.y + box.h));
  if (x1 <= x0 || y1 <= y0) return undefined;
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8Array(width * height);
  const c = picture.channels;
  const src = picture.data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = ((y0 + y) * picture.width + x0 + x) * c;
      // OpenCV's RGB2GRAY fixed point, as toGrey (lib/images/image.ts).
      data[y * width + x] = c === 1
        ? src[i]
        : (src[i] * 9798 + src[i + 1] * 19235 + src[i + 2] * 3735 + 16384) >>
          15;
    }
  }
  return {
    grey: { width, height, channels: 1, data },
    box: { x: 0, y: 0, w: width, h: height },
    x: x0,
    y: y0,
  };
}

/**
 * A JPEG of the face at `box`, shrunk by averaging to at most
 * {@linkcode THUMBNAIL_SIZE} px; undefined when the box is too small or
 * outside the picture.
 */
export function thumbnailOf(picture: Image, box: Box): Uint8Array | undefined {
  const x0 = Math.max(0, Math.round(box.x));
  const y0 = Math.max(0, Math.round(box.y));
  const x1 = Math.min(picture.width, Math.round(box.x + box.w));
  const y1 = Math.min(picture.height, Math.round(box.y + box.h));
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
