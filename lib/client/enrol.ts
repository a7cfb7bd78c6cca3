/**
 * Teaching the server a new face without restarting it: {@linkcode enrolFaces}
 * sends a name and face crops (lib/protocol/enrol.ts) and returns once the
 * server has saved them and every worker thread knows them;
 * {@linkcode runEnrolment} is `deno task enroll`: it watches a camera or a
 * video, asks the server where the face is in each frame (a normal
 * faces-only request: the client needs no detector), keeps N good, varied
 * faces (one face, big, sharp, not a near-duplicate: _enrol_select.ts) and
 * enrols them. {@linkcode cropForEnrolment} makes the crop the server wants
 * from a frame and a face box, for any caller holding frames (the web view's
 * "name this person" box).
 *
 * ```ts
 * import { cropForEnrolment, enrolFaces } from "./lib/client/enrol.ts";
 * const faces = frames.map(({ picture, box }) => cropForEnrolment(picture, box));
 * const reply = await enrolFaces("tcp://127.0.0.1:5555", "alice", faces, {});
 * console.log(`${reply.name}: ${reply.faces} faces`);
 * ```
 *
 * @module
 */

import { type Box, type Image, toGrey } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";
import {
  checkEnrolName,
  decodeEnrolReply,
  encodeEnrolRequest,
  ENROL_ELSEWHERE,
  type EnrolFace,
  type EnrolReply,
  MAX_ENROL_FACES,
} from "../protocol/enrol.ts";
import { ProtocolError } from "../protocol/errors.ts";
import { findFfmpeg } from "../video/find_ffmpeg.ts";
import { openCapture } from "../video/capture.ts";
import { resolveInput } from "../video/input.ts";
import { Context } from "../zmq/zmq.ts";
import { TimeoutError } from "../zmq/errors.ts";
import { FaceSelection, type SelectOptions } from "./_enrol_select.ts";
import { FrameRequests, replyTo } from "./_request.ts";
import { FrameClient, type FrameClientOptions } from "./frame_client.ts";

export type { EnrolFace, EnrolReply, SelectOptions };

/** Options for {@linkcode cropForEnrolment}. */
export interface CropOptions {
  /**
   * Frame kept on each side of the face, as a fraction of its size.
   * Default 0.25: the crop is 1.5 times the face, enough context for the
   * detector to find the face again when the server trains from the photos.
   */
  margin?: number;
  /** JPEG quality, 1..100. Default 90. */
  quality?: number;
}

/**
 * The crop of `frame` (grey or RGB) around the face at `box`, as a JPEG,
 * with the face's box inside the crop: one face of an enrol request.
 */
export function cropForEnrolment(
  frame: Image,
  box: Box,
  options: CropOptions = {},
): EnrolFace {
  const margin = options.margin ?? 0.25;
  const dx = Math.round(box.w * margin);
  const dy = Math.round(box.h * margin);
  const x0 = Math.max(0, Math.round(box.x) - dx);
  const y0 = Math.max(0, Math.round(box.y) - dy);
  const x1 = Math.min(frame.width, Math.round(box.x + box.w) + dx);
  const y1 = Math.min(frame.height, Math.round(box.y + box.h) + dy);
  if (x1 <= x0 || y1 <= y0) {
    throw new Error(
      `face box ${box.x},${box.y} ${box.w}x${box.h} is outside the ${frame.width}x${frame.height} frame`,
    );
  }
  const width = x1 - x0;
  const height = y1 - y0;
  const c = frame.channels;
  const data = new Uint8Array(width * height * c);
  for (let y = 0; y < height; y++) {
    const start = ((y0 + y) * frame.width + x0) * c;
    data.set(frame.data.subarray(start, start + width * c), y * width * c);
  }
  const fx = Math.max(0, Math.round(box.x) - x0);
  const fy = Math.max(0, Math.round(box.y) - y0);
  return {
    jpeg: encodeJpeg(
      { width, height, channels: c, data },
      { quality: options.quality ?? 90 },
    ),
    box: {
      x: fx,
      y: fy,
      w: Math.min(width - fx, Math.round(box.w)),
      h: Math.min(height - fy, Math.round(box.h)),
    },
  };
}

/** Options for {@linkcode enrolFaces}. */
export interface EnrolOptions {
  /** CURVE encryption: the server's public key and this client's key pair. */
  curve?: FrameClientOptions["curve"];
  /**
   * Milliseconds to wait for the reply (the server describes and saves the
   * faces first). Default 30 000.
   */
  timeout?: number;
  /** Echoed by the server. Default 0. */
  requestId?: number;
}

/** Tries when the request met a remote worker, which cannot enrol. */
const ATTEMPTS = 4;

/**
 * Sends one enrol request for `name` with `faces` (1..64, e.g. from
 * {@linkcode cropForEnrolment}) and returns the server's reply: the faces
 * are saved and every worker thread of the server knows them.
 *
 * @throws {Error} with a one-line message: a bad name or face, a refusal
 * by the server (`the server refused the enrolment: ENROL_REFUSED: ...`),
 * or no reply in time.
 */
export async function enrolFaces(
  endpoint: string,
  name: string,
  faces: readonly EnrolFace[],
  options: EnrolOptions = {},
): Promise<EnrolReply> {
  let parts: Uint8Array[];
  try {
    parts = encodeEnrolRequest({
      kind: "enrol",
      requestId: options.requestId ?? 0,
      name,
      faces: [...faces],
    });
  } catch (error) {
    throw new Error(`cannot enrol: ${(error as Error).message}`);
  }
  const timeout = options.timeout ?? 30_000;
  const context = new Context();
  try {
    const socket = context.socket("REQ", {
      linger: 0,
      maxMessageSize: 16 * 1024 * 1024,
      curveClient: options.curve,
    });
    socket.connect(endpoint);
    for (let attempt = 1;; attempt++) {
      let answer: Uint8Array[];
      try {
        await socket.send(parts, { timeout });
        answer = await socket.receive({ timeout });
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
        // Not retried: the server may have saved the faces all the same.
        throw new Error(
          `no reply from ${endpoint} within ${timeout} ms (is the server ` +
            "running and reachable? the faces may have been enrolled all the same)",
        );
      }
      let reply: ReturnType<typeof decodeEnrolReply>;
      try {
        reply = decodeEnrolReply(answer);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        throw new Error(
          `the server's answer is not an enrol reply: ${error.message}`,
        );
      }
      if (reply.kind === "enrolled") return reply;
      // A remote worker cannot enrol, the server's own threads can.
      if (
        reply.code === "ENROL_REFUSED" &&
        reply.message.startsWith(ENROL_ELSEWHERE) && attempt < ATTEMPTS
      ) {
        continue;
      }
      throw new Error(
        `the server refused the enrolment: ${reply.code}: ${reply.message}`,
      );
    }
  } finally {
    await context.close();
  }
}

/** A face {@linkcode runEnrolment} kept. */
export interface KeptFace {
  /** 1 for the first face kept. */
  number: number;
  /** Frame number in the source. */
  frame: number;
  /** Where the server found the face in the frame. */
  box: Box;
  /** Variance of the Laplacian of the face at 100x100 (_enrol_select.ts). */
  sharpness: number;
  /** Least thumbnail difference to the faces kept before; Infinity for the first. */
  difference: number;
}

/** Options for {@linkcode runEnrolment}. */
export interface RunEnrolmentOptions {
  /** The person's name. */
  name: string;
  /** The server. Default `tcp://127.0.0.1:5555`. */
  connect?: string;
  /** Camera, video file or URL (see lib/video/input.ts). Default the camera. */
  input?: string;
  /** Frame width. Default 640. */
  width?: number;
  /** Frame height. Default 480. */
  height?: number;
  /** Capture rate (a camera's). */
  fps?: number;
  /** Faces to send. Default 10. */
  count?: number;
  /** Which faces are good enough (sizes and thresholds). */
  select?: SelectOptions;
  /** CURVE encryption, as {@linkcode EnrolOptions.curve}. */
  curve?: FrameClientOptions["curve"];
  /** The ffmpeg program. Default: found on PATH. */
  ffmpeg?: string;
  /** Milliseconds to wait for each frame's reply. Default 1000. */
  timeout?: number;
  /** Milliseconds to wait for the enrolment's reply. Default 30 000. */
  enrolTimeout?: number;
  /** Called with each face kept. */
  onFace?: (face: KeptFace) => void;
  /** Aborting stops at once; nothing is enrolled. */
  signal?: AbortSignal;
  /** Notices (the capture command, outages). Default stderr. */
  log?: (line: string) => void;
}

/** What {@linkcode runEnrolment} did. */
export interface EnrolmentResult {
  /** The server's reply. */
  reply: EnrolReply;
  /** The faces sent. */
  kept: KeptFace[];
  /** Frames looked at. */
  frames: number;
}

/**
 * Captures frames from `options.input`, keeps up to `count` good, varied
 * faces of the one person in them (until the source ends) and enrols them
 * under `options.name`.
 *
 * @throws {Error} when no frame had a usable face (saying why they were
 * not), the capture or the server failed, or the server refused.
 */
export async function runEnrolment(
  options: RunEnrolmentOptions,
): Promise<EnrolmentResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const count = options.count ?? 10;
  if (!Number.isInteger(count) || count < 1 || count > MAX_ENROL_FACES) {
    throw new Error(`count must be 1..${MAX_ENROL_FACES}, not ${count}`);
  }
  // The name is checked before the camera is opened.
  try {
    checkEnrolName(options.name);
  } catch (error) {
    throw new Error(`cannot enrol: ${(error as Error).message}`);
  }
  const connect = options.connect ?? "tcp://127.0.0.1:5555";
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const live = options.input === undefined ||
    ["camera", "url"].includes(resolveInput(options.input).kind);
  const ffmpeg = await findFfmpeg({ override: options.ffmpeg });
  const faces: EnrolFace[] = [];
  const kept: KeptFace[] = [];
  const skipped = new Map<string, number>();
  let frames = 0;
  {
    await using cleanup = new AsyncDisposableStack();
    const capture = openCapture({
      input: options.input,
      width,
      height,
      fps: options.fps,
      pixelFormat: "rgb24",
      // A file gives every frame, so the same file gives the same faces.
      everyFrame: !live,
      ffmpeg,
    });
    cleanup.defer(() => capture.close());
    const client = new FrameClient(connect, {
      timeout: options.timeout,
      retries: live ? 0 : 5,
      curve: options.curve,
      log,
    });
    cleanup.defer(() => client.close());
    const stop = () => {
      capture.close().catch(() => {});
      client.close().catch(() => {});
    };
    options.signal?.addEventListener("abort", stop, { once: true });
    cleanup.defer(() => options.signal?.removeEventListener("abort", stop));
    log(`enroll: ${capture.args.join(" ")} -> ${connect}`);

    const requests = new FrameRequests({ send: "grey", serverDraws: false });
    const selection = new FaceSelection(options.select);
    while (faces.length < count && !options.signal?.aborted) {
      const frame = await capture.next();
      if (frame === null) break;
      frames++;
      // The capture reuses its buffer on the next read.
      const picture: Image = {
        width,
        height,
        channels: 3,
        data: frame.data.slice(),
      };
      const grey = toGrey(picture);
      const sent = requests.build(grey);
      const reply = replyTo(sent, await client.exchange(() => sent.parts));
      const verdict = selection.consider(frame.index, grey, reply.faces);
      if (!verdict.keep) {
        skipped.set(verdict.reason, (skipped.get(verdict.reason) ?? 0) + 1);
        continue;
      }
      faces.push(cropForEnrolment(picture, verdict.box));
      const face: KeptFace = {
        number: faces.length,
        frame: frame.index,
        box: verdict.box,
        sharpness: verdict.sharpness,
        difference: verdict.difference,
      };
      kept.push(face);
      options.onFace?.(face);
    }
  }
  if (options.signal?.aborted) throw new Error("enrolment cancelled");
  if (faces.length === 0) {
    throw new Error(
      `no usable face in ${frames} frames of ${
        options.input ?? "the camera"
      } (${skippedText(skipped)})`,
    );
  }
  const reply = await enrolFaces(connect, options.name, faces, {
    curve: options.curve,
    timeout: options.enrolTimeout,
  });
  return { reply, kept, frames };
}

const REASONS: Record<string, string> = {
  faces: "not exactly one face",
  small: "face too small",
  soon: "too soon after the last face kept",
  blurred: "blurred",
  duplicate: "too like a face kept",
};

function skippedText(skipped: Map<string, number>): string {
  if (skipped.size === 0) return "no frames";
  return [...skipped].map(([reason, n]) => `${n} ${REASONS[reason] ?? reason}`)
    .join(", ");
}
