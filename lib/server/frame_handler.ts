/**
 * The server's work for one message: decode the request, find and name the
 * faces, draw them when asked, and encode the reply. Anything wrong with the
 * request becomes an error reply: a REP socket must always answer.
 *
 * @module
 */

import type { DetectOptions, FaceDetector } from "../face/detector.ts";
import { drawFaces } from "../images/draw.ts";
import type { FacePrepOptions } from "../face/face_prep.ts";
import { greyFromBgr, type Image, toGrey } from "../images/image.ts";
import {
  decodeImage,
  encodeJpeg,
  fromBgr,
  toBgr,
  toRgb,
} from "../images/image_io.ts";
import type { LbphRecognizer } from "../face/lbph.ts";
import {
  decodeRequest,
  encodeLegacyReply,
  encodeReply,
  errorReplyFor,
  type FrameRequest,
  type LegacyRequest,
  type Limits,
  ProtocolError,
  type ReplyFrame,
  type Timings,
} from "../protocol/protocol.ts";
import { type NamedFace, nameFaces } from "../face/naming.ts";

/** Options for {@linkcode FrameHandler}. */
export interface FrameHandlerOptions {
  /** Detection parameters (scale factor, neighbours, sizes, downscale width). */
  detect?: DetectOptions;
  /** Face preparation; must match how the model was trained. */
  prep?: FacePrepOptions;
  /** Best/runner-up distance ratio above which a face is `unknown` (see lib/recognition.ts). */
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
  faces?: NamedFace[];
  /** Why the request was refused (error replies only). */
  error?: string;
}

/** Decodes, recognises, draws and encodes; one instance per worker. */
export class FrameHandler {
  #detector: FaceDetector;
  #recognizer: LbphRecognizer;
  #options: FrameHandlerOptions;

  /** Uses `detector` and `recognizer` for every message. */
  constructor(
    detector: FaceDetector,
    recognizer: LbphRecognizer,
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

  #findFaces(grey: Image, timings: Timings): NamedFace[] {
    let t = performance.now();
    const boxes = this.#detector.detect(grey, this.#options.detect);
    timings.detect = performance.now() - t;
    t = performance.now();
    const faces = nameFaces(grey, boxes, {
      recognizer: this.#recognizer,
      prep: this.#options.prep,
      ambiguity: this.#options.ambiguity,
    });
    timings.recognise = performance.now() - t;
    return faces;
  }

  #handleFrame(request: FrameRequest, start: number): HandledMessage {
    const timings = zeroTimings();
    let t = performance.now();
    const wantFrame = request.reply === "faces+frame";
    const { grey, rgb } = decodePixels(request, wantFrame);
    timings.decode = performance.now() - t;

    const faces = this.#findFaces(grey, timings);

    let frame: ReplyFrame | undefined;
    if (wantFrame) {
      t = performance.now();
      const canvas = rgb ?? toRgb(grey);
      drawFaces(canvas, faces);
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
    timings.decode = performance.now() - t;
    const faces = this.#findFaces(grey, timings);
    t = performance.now();
    // Draw in RGB, answer in BGR with the shape the client sent.
    const canvas = channels === 1
      ? toRgb(grey)
      : fromBgr(pixels, width, height);
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

/** The grey picture for detection and, when a frame is wanted, an RGB copy to draw on. */
function decodePixels(
  request: FrameRequest,
  wantRgb: boolean,
): { grey: Image; rgb?: Image } {
  const { width, height, pixels } = request;
  switch (request.format) {
    case "grey8":
      return { grey: { width, height, channels: 1, data: pixels } };
    case "rgb24": {
      const rgb: Image = { width, height, channels: 3, data: pixels };
      return {
        grey: toGrey(rgb),
        rgb: wantRgb ? { ...rgb, data: pixels.slice() } : undefined,
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
