/**
 * A session's frames on the wire: the request for a picture (pixels in the
 * chosen format, a frame id of its own) and the check that a reply answers
 * it. Each request carries its own record, so several can be in flight.
 *
 * @module
 */

import { type Image, toGrey } from "../images/image.ts";
import { encodeJpeg } from "../images/image_io.ts";
import type { PixelFormat } from "../images/pixel_format.ts";
import {
  decodeReply,
  encodeRequest,
  type FrameReply,
  type ProtocolVersion,
  type TrackHint,
} from "../protocol/binary.ts";

/** What goes over the wire: grey is a third of RGB and all the server needs. */
export type SendFormat = "grey" | "rgb" | "jpeg";

/** One request built, with what its reply is checked and timed against. */
export interface SentRequest {
  /** The message parts. */
  parts: Uint8Array[];
  /** Its frame id (the reply must echo it). */
  frameId: number;
  /** `performance.now()` when building began and when it was done. */
  startedAt: number;
  /** See `startedAt`. */
  builtAt: number;
  /** Total bytes of `parts`. */
  bytes: number;
  /** Its protocol version (2 carries track hints). */
  version: ProtocolVersion;
  /** The server was asked to look for faces only around the hints. */
  tracksOnly: boolean;
}

/** Builds the requests of one session, numbering them. */
export class FrameRequests {
  #send: SendFormat;
  #serverDraws: boolean;
  #version: ProtocolVersion;
  #nextId = 0;

  /**
   * `serverDraws`: ask for the annotated frame back; `tracks`: send
   * version 2 requests, which carry track hints.
   */
  constructor(
    options: { send: SendFormat; serverDraws: boolean; tracks?: boolean },
  ) {
    this.#send = options.send;
    this.#serverDraws = options.serverDraws;
    this.#version = options.tracks ? 2 : 1;
  }

  /**
   * The request for `picture`, with the next frame id (and `hints` in
   * version 2; `tracksOnly` asks the server to look for faces only around
   * them, which needs at least one).
   */
  build(
    picture: Image,
    hints?: TrackHint[],
    options: { tracksOnly?: boolean } = {},
  ): SentRequest {
    const startedAt = performance.now();
    const frameId = this.#nextId++ >>> 0;
    const tracksOnly = this.#version === 2 && (options.tracksOnly ?? false);
    const parts = encodeRequest({
      kind: "frame",
      ...pixelsFor(picture, this.#send),
      width: picture.width,
      height: picture.height,
      frameId,
      timestamp: startedAt,
      reply: this.#serverDraws ? "faces+frame" : "faces",
      frameFormat: this.#serverDraws ? "rgb24" : undefined,
      ...(this.#version === 2
        ? { version: 2, hints: hints ?? [], tracksOnly }
        : {}),
    });
    return {
      parts,
      frameId,
      startedAt,
      builtAt: performance.now(),
      bytes: parts.reduce((sum, part) => sum + part.length, 0),
      version: this.#version,
      tracksOnly,
    };
  }
}

/**
 * Decodes the reply to `sent`; throws when the server refused the frame,
 * answered another one or in a newer version, or sent an annotated frame
 * that is not RGB. A version 1 reply to a version 2 request is taken (every
 * face recognised, no tracks): it is what a stand-in server without tracks
 * sends.
 */
export function replyTo(sent: SentRequest, parts: Uint8Array[]): FrameReply {
  const reply = decodeReply(parts);
  if (reply.kind === "error") {
    throw new Error(
      `the server refused the frame: ${reply.code}: ${reply.message}`,
    );
  }
  if ((reply.version ?? 1) > sent.version) {
    throw new Error(
      `the server answered a version ${sent.version} request in version ${reply.version}`,
    );
  }
  if (reply.frameId !== sent.frameId) {
    throw new Error(
      `the server answered frame ${reply.frameId} to frame ${sent.frameId}`,
    );
  }
  const frame = reply.frame;
  if (
    frame &&
    (frame.format !== "rgb24" ||
      frame.pixels.length !== frame.width * frame.height * 3)
  ) {
    throw new Error(
      `the server sent an annotated frame in ${frame.format} of ` +
        `${frame.pixels.length} bytes, not ${frame.width}x${frame.height} RGB`,
    );
  }
  return reply;
}

/** The request's pixels in the chosen format. */
function pixelsFor(
  picture: Image,
  send: SendFormat,
): { format: PixelFormat; pixels: Uint8Array } {
  if (send === "jpeg") {
    return { format: "jpeg", pixels: encodeJpeg(picture, { quality: 85 }) };
  }
  if (send === "rgb" && picture.channels === 3) {
    return { format: "rgb24", pixels: picture.data };
  }
  return { format: "grey8", pixels: toGrey(picture).data };
}
