/**
 * The server's work for one message: decode the request, find and name the
 * faces, draw them when asked, and encode the reply. Anything wrong with the
 * request becomes an error reply: a REP socket must always answer.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "../face/detector.ts";
import type { Face } from "../face/face.ts";
import type { Box } from "../images/image.ts";
import { drawFaces } from "../images/draw.ts";
import {
  fromBgr,
  greyFromBgr,
  type Image,
  toBgr,
  toGrey,
  toRgb,
} from "../images/image.ts";
import { decodeImage, encodeJpeg } from "../images/image_io.ts";
import type { Recognizer } from "../face/recognizer.ts";
import {
  encodeReply,
  type FrameRequest,
  type ReplyFace,
  type ReplyFrame,
  type Timings,
  type TrackHint,
} from "../protocol/binary.ts";
import { TRACKS_VERSION } from "../protocol/layout.ts";
import { matchBoxes } from "../tracking/boxes.ts";
import { decodeRequest, errorReplyFor } from "../protocol/dispatch.ts";
import { ENROL_ELSEWHERE, isEnrolRequest } from "../protocol/enrol.ts";
import { type Limits, ProtocolError } from "../protocol/errors.ts";
import { encodeLegacyReply, type LegacyRequest } from "../protocol/legacy.ts";
import { nameFaces } from "../face/naming.ts";

/** Options for {@linkcode FrameHandler}. */
export interface FrameHandlerOptions {
  /** Detection parameters (scale factor, neighbours, sizes, downscale width). */
  detect?: DetectOptions;
  /** Best/runner-up distance ratio above which a face is `unknown` (see lib/face/naming.ts). */
  ambiguity?: number;
  /** Request limits (dimensions, sizes). */
  limits?: Partial<Limits>;
  /** Quality of annotated JPEG frames, 1..100. Default 80. */
  jpegQuality?: number;
}

/** The outcome of one message. */
export interface HandledMessage {
  /** The parts to send back. */
  reply: Uint8Array[];
  /** False when the reply is an error reply. */
  ok: boolean;
  /** Server timings (ok replies only). */
  timings?: Timings;
  /** The faces found (ok replies only). */
  faces?: Face[];
  /** Why the request was refused (error replies only). */
  error?: string;
}

/** Decodes, recognises, draws and encodes; one instance per worker. */
export class FrameHandler {
  #detector: FaceDetector;
  #recognizer: Recognizer;
  #options: FrameHandlerOptions;

  /** Uses `detector` and `recognizer` for every message. */
  constructor(
    detector: FaceDetector,
    recognizer: Recognizer,
    options: FrameHandlerOptions = {},
  ) {
    this.#detector = detector;
    this.#recognizer = recognizer;
    this.#options = options;
  }

  /** Handles one request message; never throws. */
  handle(parts: Uint8Array[]): HandledMessage {
    const start = performance.now();
    let request: FrameRequest | LegacyRequest;
    // Enrolment waits for the server's main thread: a worker thread routes
    // it (lib/server/enrolment.ts) before calling this; any other worker
    // (a remote one) refuses it.
    if (isEnrolRequest(parts)) {
      return this.#failure(
        new ProtocolError(
          "ENROL_REFUSED",
          `${ENROL_ELSEWHERE}: enrolment is done by the server's own worker threads, not by remote workers; try again`,
        ),
        {},
      );
    }
    try {
      request = decodeRequest(parts, this.#options.limits);
    } catch (error) {
      return this.#failure(error, {});
    }
    try {
      return request.kind === "legacy"
        ? this.#handleLegacy(request, start)
        : this.#handleFrame(request, start);
    } catch (error) {
      return this.#failure(error, { legacy: request.kind === "legacy" });
    }
  }

  #failure(error: unknown, options: { legacy?: boolean }): HandledMessage {
    const reply = errorReplyFor(error, options);
    const message = error instanceof ProtocolError
      ? `${error.code}: ${error.message}`
      : `INTERNAL: ${(error as Error)?.message ?? String(error)}`;
    return { reply, ok: false, error: message };
  }

  /** Whether the recogniser wants the colour frame (as well as the grey one). */
  get #wantsColour(): boolean {
    return this.#recognizer.channels === 3;
  }

  /**
   * Detects in `grey` (with `tracksOnly`, around the hints, or in the whole
   * frame when a hint finds no face), names in `colour` when there is one. With track `hints` (version 2), each face
   * gets the track of the hint it matches, and a face whose hint says
   * `skip` is not named (label "", distance NaN).
   */
  #findFaces(
    grey: Image,
    colour: Image | undefined,
    timings: Timings,
    tracks: { hints?: readonly TrackHint[]; tracksOnly?: boolean } = {},
  ): ReplyFace[] {
    const { hints } = tracks;
    let t = performance.now();
    let boxes: Box[];
    let match: number[] = [];
    if (hints && tracks.tracksOnly) {
      boxes = this.#detector.detectNear(grey, hints, this.#options.detect);
      match = matchBoxes(boxes, hints);
      // A track whose face is not near its hint moved off its prediction,
      // or the search there missed what a full one finds: the whole frame.
      if (hints.some((_, j) => !match.includes(j))) {
        boxes = this.#detector.detect(grey, this.#options.detect);
        match = matchBoxes(boxes, hints);
      }
    } else {
      boxes = this.#detector.detect(grey, this.#options.detect);
      if (hints) match = matchBoxes(boxes, hints);
    }
    timings.detect = performance.now() - t;
    t = performance.now();
    const hintOf = (i: number) => hints?.[match[i]];
    const named = nameFaces(
      this.#wantsColour && colour ? colour : grey,
      boxes.filter((_, i) => !hintOf(i)?.skip),
      {
        recognizer: this.#recognizer,
        ambiguity: this.#options.ambiguity,
      },
    );
    timings.recognise = performance.now() - t;
    if (!hints) return named;
    // nameFaces leaves out boxes its recogniser does not take for a face
    // and keeps the others in order.
    const faces: ReplyFace[] = [];
    let next = 0;
    boxes.forEach((box, i) => {
      const hint = hintOf(i);
      const track = hint?.track ?? 0;
      const { x, y, w, h } = box;
      if (hint?.skip) {
        faces.push({
          x,
          y,
          w,
          h,
          label: "",
          distance: NaN,
          track,
          recognised: false,
        });
        return;
      }
      const face = named[next];
      if (face?.x !== x || face.y !== y || face.w !== w || face.h !== h) return;
      faces.push({ ...face, track, recognised: true });
      next++;
    });
    return faces;
  }

  #handleFrame(request: FrameRequest, start: number): HandledMessage {
    const timings = zeroTimings();
    let t = performance.now();
    const wantFrame = request.reply === "faces+frame";
    const { grey, rgb } = decodePixels(request, {
      rgb: wantFrame || this.#wantsColour,
      copy: wantFrame,
    });
    timings.decode = performance.now() - t;

    const faces = this.#findFaces(grey, rgb, timings, request);

    let frame: ReplyFrame | undefined;
    if (wantFrame) {
      t = performance.now();
      const canvas = rgb ?? toRgb(grey);
      // A face not recognised here is named by the client's track.
      drawFaces(
        canvas,
        faces.map((f) =>
          f.recognised === false ? { ...f, label: `#${f.track}` } : f
        ),
      );
      timings.draw = performance.now() - t;
      t = performance.now();
      frame = request.frameFormat === "rgb24"
        ? {
          format: "rgb24",
          width: canvas.width,
          height: canvas.height,
          pixels: canvas.data,
        }
        : {
          format: "jpeg",
          width: canvas.width,
          height: canvas.height,
          pixels: encodeJpeg(canvas, {
            quality: this.#options.jpegQuality ?? 80,
          }),
        };
      timings.encode = performance.now() - t;
    }
    timings.total = performance.now() - start;
    const reply = encodeReply({
      kind: "reply",
      frameId: request.frameId,
      timestamp: request.timestamp,
      faces,
      timings,
      frame,
      // Answered in the request's version; only version 2 has these.
      ...(request.version === TRACKS_VERSION
        ? { version: TRACKS_VERSION, threshold: this.#recognizer.threshold }
        : {}),
    });
    return { reply, ok: true, timings, faces };
  }

  #handleLegacy(request: LegacyRequest, start: number): HandledMessage {
    const timings = zeroTimings();
    let t = performance.now();
    const { width, height, channels, pixels } = request;
    const grey: Image = channels === 1
      ? { width, height, channels: 1, data: pixels }
      : greyFromBgr(pixels, width, height);
    // The reply is drawn in RGB; a colour recogniser names faces in it first.
    const colour = channels === 3 && this.#wantsColour
      ? fromBgr(pixels, width, height)
      : undefined;
    timings.decode = performance.now() - t;
    const faces = this.#findFaces(grey, colour, timings);
    t = performance.now();
    // Draw in RGB, answer in BGR with the shape the client sent.
    const canvas = colour ??
      (channels === 1 ? toRgb(grey) : fromBgr(pixels, width, height));
    drawFaces(canvas, faces);
    timings.draw = performance.now() - t;
    t = performance.now();
    const bgr = toBgr(canvas);
    timings.encode = performance.now() - t;
    timings.total = performance.now() - start;
    const reply = encodeLegacyReply(bgr, { width, height, channels: 3 });
    return { reply, ok: true, timings, faces };
  }
}

/**
 * The grey picture for detection and, when `rgb`, the RGB one (a colour
 * recogniser names faces in it; a `copy` is drawn on). A grey request has
 * no RGB picture.
 */
function decodePixels(
  request: FrameRequest,
  want: { rgb: boolean; copy: boolean },
): { grey: Image; rgb?: Image } {
  const wantRgb = want.rgb;
  const { width, height, pixels } = request;
  switch (request.format) {
    case "grey8":
      return { grey: { width, height, channels: 1, data: pixels } };
    case "rgb24": {
      const rgb: Image = { width, height, channels: 3, data: pixels };
      return {
        grey: toGrey(rgb),
        rgb: wantRgb
          ? (want.copy ? { ...rgb, data: pixels.slice() } : rgb)
          : undefined,
      };
    }
    case "bgr24":
      return {
        grey: greyFromBgr(pixels, width, height),
        rgb: wantRgb ? fromBgr(pixels, width, height) : undefined,
      };
    case "jpeg": {
      let image: Image;
      try {
        image = decodeImage(pixels, { name: "the JPEG frame" });
      } catch (error) {
        throw new ProtocolError("CORRUPT_JPEG", (error as Error).message);
      }
      if (image.width !== width || image.height !== height) {
        throw new ProtocolError(
          "BAD_DIMENSIONS",
          `the JPEG is ${image.width}x${image.height}, the header says ${width}x${height}`,
        );
      }
      return {
        grey: toGrey(image),
        rgb: wantRgb
          ? (image.channels === 3 ? image : toRgb(image))
          : undefined,
      };
    }
  }
}

function zeroTimings(): Timings {
  return { decode: 0, detect: 0, recognise: 0, draw: 0, encode: 0, total: 0 };
}
