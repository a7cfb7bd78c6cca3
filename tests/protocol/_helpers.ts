/**
 * What the protocol unit tests share: the error assertion, hex helpers, and
 * sample pixels, JPEGs and a reply.
 *
 * @module
 */

import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import type {
  FrameReply,
  FrameRequest,
  Timings,
} from "../../lib/protocol/binary.ts";
import { type ErrorCode, ProtocolError } from "../../lib/protocol/errors.ts";

/** UTF-8 encoder for hand-written headers. */
export const utf8 = new TextEncoder();

/** Asserts that `fn` throws a ProtocolError with `code` (and dialect). */
export function assertCode(
  fn: () => unknown,
  code: ErrorCode,
  legacy = false,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.legacy, legacy, `legacy flag for ${error.message}`);
    assert.ok(error.message.length > 0);
    return true;
  });
}

/** Bytes as spaced lowercase hex, for comparing with docs/protocol.md. */
export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

/** Hex text (spaces ignored) as bytes. */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** A gradient image, so that any byte shuffling would show. */
export function gradient(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

/** A real baseline JPEG made by jpeg-js (returns a Node Buffer). */
export function makeJpeg(width: number, height: number): Uint8Array {
  const rgba = gradient(width * height * 4);
  return jpeg.encode({ data: rgba, width, height }, 80).data;
}

/**
 * A 4x3 grey version 1 request asking for faces only; a new one each call,
 * so that no test sees another's changes to its pixels.
 */
export function sampleRequest(): FrameRequest {
  return {
    kind: "frame",
    format: "grey8",
    width: 4,
    height: 3,
    frameId: 41,
    timestamp: 1718000000123.25,
    reply: "faces",
    pixels: gradient(12),
  };
}

/** Server timings of nothing but a `total`, as short replies carry. */
export function totalOnly(total: number): Timings {
  return { decode: 0, detect: 0, recognise: 0, draw: 0, encode: 0, total };
}

/** A reply with three faces (one with a non-ASCII label) and every timing set. */
export const sampleReply: FrameReply = {
  kind: "reply",
  frameId: 12345,
  timestamp: 1718000000123.25,
  faces: [
    { x: 10, y: 20, w: 92, h: 112, label: "s1", distance: 31.5 },
    { x: -3, y: 0, w: 0, h: 5, label: "unknown", distance: Infinity },
    { x: 7, y: 8, w: 9, h: 10, label: "Zoë 山田 🙂", distance: 0 },
  ],
  timings: {
    decode: 1.25,
    detect: 20.5,
    recognise: 3.125,
    draw: 0.5,
    encode: 4,
    total: 30.0625,
  },
};
