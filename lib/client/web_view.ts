/**
 * The client's `--view web` page, a small control room on a local HTTP
 * server: the annotated stream live (MJPEG), who is here now, recent unknown
 * faces with a box to name them (enrolment through the server), fps and
 * latency. The page itself is `web_view.html`; no framework, no build step.
 *
 * | Request                   | Answer                                          |
 * | ------------------------- | ----------------------------------------------- |
 * | `GET /`                   | the page                                        |
 * | `GET /stream`             | `multipart/x-mixed-replace` JPEG frames (MJPEG) |
 * | `GET /events`             | Server-Sent Events, one {@linkcode ViewState} each |
 * | `GET /state`              | the latest {@linkcode ViewState} as JSON        |
 * | `GET /unknown/<track>.jpg` | an unknown face's thumbnail                    |
 * | `POST /enrol`             | `{track, name}` JSON, answered `{ok, message}`  |
 *
 * ```ts
 * import { startWebView } from "./lib/client/web_view.ts";
 * const view = startWebView({ port: 0 });
 * view.update({ frames: 1, fps: 0, latencyMs: 12, people: [], unknowns: [] });
 * await view.close();
 * ```
 *
 * @module
 */

import type { Image } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";

/** Someone in view now. */
export interface ViewPerson {
  /** The track (one person followed across frames). */
  track: number;
  /** The name given, `unknown` for nobody known. */
  name: string;
  /** When the track began, ms since the epoch (`Date.now()`). */
  since: number;
  /** How sure the name is, 0 to 1. */
  confidence: number;
  /** False for an unknown face. */
  known: boolean;
}

/** A recent unknown face that may be named on the page. */
export interface ViewUnknown {
  /** Its track, the one `onEnrol` receives. */
  track: number;
  /** A JPEG of the face. A new array (not the same one) means a new picture. */
  thumbnail: Uint8Array;
  /** When it was first seen, ms since the epoch. */
  since: number;
}

/** What the session shows, one call per frame. */
export interface ViewUpdate {
  /**
   * The annotated frame (RGB or grey), JPEG-encoded only while a browser
   * watches the stream. Absent: the stream keeps its last frame.
   */
  picture?: Image;
  /** Frames processed so far. */
  frames: number;
  /** Frames per second over the last window. */
  fps: number;
  /** Latest round-trip latency, ms. */
  latencyMs: number;
  /** Who is in view now. */
  people: ViewPerson[];
  /** Recent unknown faces, newest first. */
  unknowns: ViewUnknown[];
  /** A status line, e.g. "server not answering". */
  status?: string;
}

/** A request from the page to name an unknown face. */
export interface EnrolRequest {
  /** The unknown face's track. */
  track: number;
  /** The name typed (trimmed, 1 to {@linkcode MAX_NAME_LENGTH} characters). */
  name: string;
}

/** The answer shown under the name box. */
export interface EnrolResult {
  /** True when the person was enrolled. */
  ok: boolean;
  /** One line for the page, e.g. "Ada enrolled: 5 faces, live now". */
  message: string;
}

/** What the page receives on `/events` and `/state`. */
export interface ViewState {
  /** The client's clock when sent (ms since the epoch), for "since" ages. */
  now: number;
  /** Frames processed so far. */
  frames: number;
  /** Frames per second. */
  fps: number;
  /** Latest latency, ms. */
  latencyMs: number;
  /** Status line, if any. */
  status?: string;
  /** Who is here now. */
  people: ViewPerson[];
  /** Recent unknown faces, each with the address of its thumbnail. */
  unknowns: { track: number; since: number; thumbnail: string }[];
  /** Why names cannot be given here, when enrolment is off. */
  enrolOff?: string;
}

/** A running web view. */
export interface WebView {
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** True while at least one browser has the page or the stream open. */
  readonly watching: boolean;
  /** Shows a new frame and what is known about it. */
  update(info: ViewUpdate): void;
  /** Stops the server and ends every open stream. */
  close(): Promise<void>;
}

/** Options for {@linkcode startWebView}. */
export interface WebViewOptions {
  /** Interface to listen on. Default 127.0.0.1 (this machine only). */
  hostname?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /**
   * Names an unknown face (the page's `POST /enrol`). Absent: the page says
   * enrolment is off and every request is answered so.
   */
  onEnrol?: (request: EnrolRequest) => Promise<EnrolResult>;
  /** Why names cannot be given here, without `onEnrol`. Default {@linkcode ENROLMENT_OFF}. */
  enrolOff?: string;
}

/** Longest name accepted from the page. */
export const MAX_NAME_LENGTH = 64;

/**
 * Shown when no `onEnrol` was given. Whether a client may enrol is the
 * server's to say: without CURVE only with `--allow-enrol`, with CURVE
 * every client it lets in may.
 */
export const ENROLMENT_OFF =
  "enrolment is off: this page does not pass names on to the server " +
  "(which takes them when started with --allow-enrol, or, with CURVE keys, " +
  "from every client it lets in)";

const BOUNDARY = "facezmqframe";
/** Fastest rate of `/events` messages: the page needs no more than 5 a second. */
const EVENT_INTERVAL_MS = 200;
/** Largest `POST /enrol` body read. */
const MAX_ENROL_BYTES = 4096;

/** `Deno.serve`, with a busy port explained in one line. */
function serve(
  address: { hostname: string; port: number },
  handler: Deno.ServeHandler,
): Deno.HttpServer {
  try {
    return Deno.serve({ ...address, onListen: () => {} }, handler);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Deno.errors.AddrInUse(
      `${address.hostname}:${address.port} is in use (another client's ` +
        `web view?): give the web view another port with --port N, or --view none`,
    );
  }
}

/** A set of open response streams, each fed only as fast as it reads. */
class Streams {
  #open = new Set<ReadableStreamDefaultController<Uint8Array>>();

  get size(): number {
    return this.#open.size;
  }

  /** A new stream; `first` is sent at once. */
  open(first?: Uint8Array): ReadableStream<Uint8Array> {
    let self: ReadableStreamDefaultController<Uint8Array>;
    return new ReadableStream<Uint8Array>({
      start: (controller) => {
        self = controller;
        this.#open.add(controller);
        if (first) controller.enqueue(first);
      },
      cancel: () => {
        this.#open.delete(self);
      },
    }, { highWaterMark: 2 });
  }

  /** Sends `chunk` to every stream that has taken what it was sent before. */
  send(chunk: Uint8Array): void {
    for (const controller of this.#open) {
      // A slow browser skips chunks rather than delaying the pipeline; each
      // chunk is a whole frame or a whole state, so nothing is half-sent.
      if ((controller.desiredSize ?? 0) > 0) controller.enqueue(chunk);
    }
  }

  close(): void {
    for (const controller of this.#open) {
      try {
        controller.close();
      } catch {
        // Already closed by the browser.
      }
    }
    this.#open.clear();
  }
}

/**
 * Starts the web view. The session calls `update` per frame; each browser
 * gets the newest frame and state only, so a slow browser never delays the
 * pipeline.
 *
 * @throws {Deno.errors.AddrInUse} with a one-line way out when the port is busy.
 */
export function startWebView(options: WebViewOptions = {}): WebView {
  const hostname = options.hostname ?? "127.0.0.1";
  const page = Deno.readTextFileSync(
    new URL("./web_view.html", import.meta.url),
  );
  const encoder = new TextEncoder();
  const frames = new Streams();
  const events = new Streams();
  const onEnrol = options.onEnrol;

  let latest: ViewUpdate = {
    frames: 0,
    fps: 0,
    latencyMs: 0,
    people: [],
    unknowns: [],
  };
  let lastPart: Uint8Array | undefined;
  // Thumbnails by track, with a version that changes with the picture so
  // the page's <img> reloads only then.
  const thumbnails = new Map<number, { jpeg: Uint8Array; version: number }>();
  let versions = 0;
  let lastEventAt = -Infinity;
  let pendingEvent: ReturnType<typeof setTimeout> | undefined;

  const state = (): ViewState => ({
    now: Date.now(),
    frames: latest.frames,
    fps: latest.fps,
    latencyMs: latest.latencyMs,
    ...(latest.status ? { status: latest.status } : {}),
    people: latest.people,
    unknowns: latest.unknowns.map(({ track, since }) => ({
      track,
      since,
      thumbnail: `/unknown/${track}.jpg?v=${thumbnails.get(track)?.version}`,
    })),
    ...(onEnrol ? {} : { enrolOff: options.enrolOff ?? ENROLMENT_OFF }),
  });
  const event = () => encoder.encode(`data: ${JSON.stringify(state())}\n\n`);
  const sendEvent = () => {
    pendingEvent = undefined;
    lastEventAt = performance.now();
    events.send(event());
  };

  const server = serve({ hostname, port: options.port ?? 8080 }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/enrol") {
      return enrol(request, {
        onEnrol,
        off: options.enrolOff ?? ENROLMENT_OFF,
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response("method not allowed", { status: 405 });
    }
    if (path === "/") {
      return new Response(page, {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "cache-control": "no-store",
        },
      });
    }
    if (path === "/state") return Response.json(state(), { headers: noStore });
    if (path === "/events") {
      // `retry`: the page reconnects within a second once a client is back.
      const first = encoder.encode(
        `retry: 1000\ndata: ${JSON.stringify(state())}\n\n`,
      );
      return new Response(events.open(first), {
        headers: { "content-type": "text/event-stream", ...noStore },
      });
    }
    if (path === "/stream") {
      // The last frame at once: a paused source still shows a picture.
      return new Response(frames.open(lastPart), {
        headers: {
          "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
          ...noStore,
        },
      });
    }
    const thumbnail = path.match(/^\/unknown\/(\d+)\.jpg$/);
    if (thumbnail) {
      const found = thumbnails.get(Number(thumbnail[1]));
      if (!found) return new Response("no such face", { status: 404 });
      return new Response(found.jpeg as Uint8Array<ArrayBuffer>, {
        // The address carries the version: a cached copy stays right.
        headers: {
          "content-type": "image/jpeg",
          "cache-control": "max-age=3600",
        },
      });
    }
    return new Response("not found", { status: 404 });
  });

  const address = server.addr as Deno.NetAddr;
  return {
    url: `http://${hostname}:${address.port}/`,
    get watching() {
      return frames.size > 0 || events.size > 0;
    },
    update(info) {
      latest = info;
      const tracks = new Set<number>();
      for (const { track, thumbnail } of info.unknowns) {
        tracks.add(track);
        if (thumbnails.get(track)?.jpeg !== thumbnail) {
          thumbnails.set(track, { jpeg: thumbnail, version: ++versions });
        }
      }
      for (const track of thumbnails.keys()) {
        if (!tracks.has(track)) thumbnails.delete(track);
      }
      if (info.picture && frames.size > 0) {
        // JPEG encoding costs milliseconds: only for a browser that watches.
        lastPart = mjpegPart(encodeJpeg(info.picture, { quality: 80 }));
        frames.send(lastPart);
      }
      if (events.size > 0 && pendingEvent === undefined) {
        const wait = lastEventAt + EVENT_INTERVAL_MS - performance.now();
        if (wait <= 0) sendEvent();
        // The latest state goes out when the interval is over.
        else pendingEvent = setTimeout(sendEvent, wait);
      }
    },
    async close() {
      clearTimeout(pendingEvent);
      frames.close();
      events.close();
      await server.shutdown();
    },
  };
}

const noStore = { "cache-control": "no-store" };

/** One part of the MJPEG stream. */
function mjpegPart(jpeg: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(
    `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
  );
  const part = new Uint8Array(head.length + jpeg.length + 2);
  part.set(head, 0);
  part.set(jpeg, head.length);
  part.set([13, 10], head.length + jpeg.length);
  return part;
}

/** `POST /enrol`: checks the request, asks `onEnrol`, answers `{ok, message}`. */
async function enrol(
  request: Request,
  { onEnrol, off }: { onEnrol: WebViewOptions["onEnrol"]; off: string },
): Promise<Response> {
  const answer = (status: number, message: string) =>
    Response.json({ ok: false, message } satisfies EnrolResult, { status });
  if (request.method !== "POST") return answer(405, "use POST");
  // Another site open in the same browser may post to 127.0.0.1 too: only
  // the page itself may name people. A JSON body cannot be sent across
  // origins without a CORS preflight, which this server never grants.
  const origin = request.headers.get("origin");
  if (origin !== null && new URL(origin).host !== request.headers.get("host")) {
    return answer(403, "only the facezmq page may enrol");
  }
  if (!/^application\/json\b/.test(request.headers.get("content-type") ?? "")) {
    return answer(415, "send JSON");
  }
  const body = await request.text();
  if (body.length > MAX_ENROL_BYTES) return answer(413, "request too long");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return answer(400, 'send JSON: {"track": N, "name": "..."}');
  }
  const { track, name } = (parsed ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(track) || (track as number) < 0) {
    return answer(400, "no such face");
  }
  const trimmed = typeof name === "string" ? name.trim() : "";
  if (trimmed === "") return answer(400, "type a name first");
  if (
    trimmed.length > MAX_NAME_LENGTH || /\p{Cc}/u.test(trimmed)
  ) {
    return answer(
      400,
      `a name is 1 to ${MAX_NAME_LENGTH} printable characters`,
    );
  }
  if (!onEnrol) return answer(503, off);
  try {
    const result = await onEnrol({ track: track as number, name: trimmed });
    return Response.json({ ok: result.ok, message: result.message });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return answer(500, `enrolment failed: ${reason}`);
  }
}
