/**
 * The track hints block of a version 2 request: a count and the request's
 * flags, then one record per hint (docs/protocol.md, "Version 2"). Kept
 * apart from `binary.ts` because it is the one part of a request whose
 * length depends on a field.
 *
 * @module
 */

import type { TrackHint } from "./binary.ts";
import { ProtocolError } from "./errors.ts";
import {
  HINT_FLAGS,
  HINT_LAYOUT,
  HINT_RECORD_BYTES,
  REQUEST_FLAGS,
  REQUEST_HEADER_BYTES,
  REQUEST_V2_HEADER_BYTES,
  REQUEST_V2_LAYOUT,
} from "./layout.ts";

/** The count and flags u16s before the records. */
const COUNT_BYTES = REQUEST_V2_HEADER_BYTES - REQUEST_HEADER_BYTES;
const COUNT_AT = REQUEST_V2_LAYOUT.hintCount - REQUEST_HEADER_BYTES;
const FLAGS_AT = REQUEST_V2_LAYOUT.flags - REQUEST_HEADER_BYTES;
const KNOWN_REQUEST_FLAGS = REQUEST_FLAGS.tracksOnly;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const I32_MIN = -0x80000000;
const I32_MAX = 0x7fffffff;
const KNOWN_FLAGS = HINT_FLAGS.skip;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** What a version 2 request says besides its first 32 bytes. */
export interface HintsBlock {
  /** The client's tracks. */
  hints: TrackHint[];
  /** Look for faces only around the hints (flag `tracks only`). */
  tracksOnly: boolean;
}

/**
 * The hints block (count, flags, records) for `hints`; checks every field.
 * `tracksOnly` needs at least one hint: without any it would ask for
 * nothing.
 */
export function encodeHints(
  hints: readonly TrackHint[],
  options: { maxHints: number; tracksOnly?: boolean },
): Uint8Array {
  if (!Array.isArray(hints)) {
    throw new ProtocolError("BAD_HEADER", "hints must be an array");
  }
  const limit = Math.min(options.maxHints, U16_MAX);
  if (hints.length > limit) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${hints.length} track hints is above the limit of ${limit}`,
    );
  }
  const tracksOnly = options.tracksOnly ?? false;
  if (typeof tracksOnly !== "boolean") {
    throw new ProtocolError("BAD_HEADER", "tracksOnly must be a boolean");
  }
  if (tracksOnly && hints.length === 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      "a tracks-only request needs at least one track hint",
    );
  }
  const block = new Uint8Array(COUNT_BYTES + hints.length * HINT_RECORD_BYTES);
  const view = viewOf(block);
  view.setUint16(COUNT_AT, hints.length, true);
  view.setUint16(FLAGS_AT, tracksOnly ? REQUEST_FLAGS.tracksOnly : 0, true);
  const seen = new Set<number>();
  hints.forEach((hint, index) => {
    checkHint(hint, index, seen);
    const at = COUNT_BYTES + index * HINT_RECORD_BYTES;
    view.setUint32(at + HINT_LAYOUT.track, hint.track, true);
    view.setInt32(at + HINT_LAYOUT.x, hint.x, true);
    view.setInt32(at + HINT_LAYOUT.y, hint.y, true);
    view.setInt32(at + HINT_LAYOUT.w, hint.w, true);
    view.setInt32(at + HINT_LAYOUT.h, hint.h, true);
    block[at + HINT_LAYOUT.flags] = hint.skip ? HINT_FLAGS.skip : 0;
  });
  return block;
}

/**
 * Reads and checks the hints block that follows a version 2 request's first
 * 32 bytes: the count within `maxHints` (`TOO_LARGE`), unknown request flag
 * bits zero, the block exactly as long as the count says, `tracks only`
 * with at least one hint, reserved bytes and unknown hint flag bits zero,
 * track ids non-zero and unique, sizes `>= 0` (`BAD_HEADER`).
 */
export function decodeHints(block: Uint8Array, maxHints: number): HintsBlock {
  const view = viewOf(block);
  const count = view.getUint16(COUNT_AT, true);
  if (count > maxHints) {
    throw new ProtocolError(
      "TOO_LARGE",
      `${count} track hints is above the limit of ${maxHints}`,
    );
  }
  const requestFlags = view.getUint16(FLAGS_AT, true);
  if ((requestFlags & ~KNOWN_REQUEST_FLAGS) !== 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      `request flags (bytes 34-35) 0x${
        requestFlags.toString(16)
      } have bits other than bit 0 set`,
    );
  }
  const expected = COUNT_BYTES + count * HINT_RECORD_BYTES;
  if (block.length !== expected) {
    throw new ProtocolError(
      "BAD_HEADER",
      `request header announces ${count} track hints (${
        REQUEST_HEADER_BYTES + expected
      } bytes) but is ${REQUEST_HEADER_BYTES + block.length} bytes`,
    );
  }
  const tracksOnly = (requestFlags & REQUEST_FLAGS.tracksOnly) !== 0;
  if (tracksOnly && count === 0) {
    throw new ProtocolError(
      "BAD_HEADER",
      "a tracks-only request needs at least one track hint",
    );
  }
  const hints: TrackHint[] = [];
  const seen = new Set<number>();
  for (let index = 0; index < count; index++) {
    const at = COUNT_BYTES + index * HINT_RECORD_BYTES;
    const flags = block[at + HINT_LAYOUT.flags];
    if (
      (flags & ~KNOWN_FLAGS) !== 0 ||
      block[at + HINT_LAYOUT.reserved] !== 0 ||
      block[at + HINT_LAYOUT.reserved + 1] !== 0 ||
      block[at + HINT_LAYOUT.reserved + 2] !== 0
    ) {
      throw new ProtocolError(
        "BAD_HEADER",
        `track hint ${index} has unknown flags or reserved bytes set`,
      );
    }
    const hint: TrackHint = {
      track: view.getUint32(at + HINT_LAYOUT.track, true),
      x: view.getInt32(at + HINT_LAYOUT.x, true),
      y: view.getInt32(at + HINT_LAYOUT.y, true),
      w: view.getInt32(at + HINT_LAYOUT.w, true),
      h: view.getInt32(at + HINT_LAYOUT.h, true),
      skip: (flags & HINT_FLAGS.skip) !== 0,
    };
    checkHint(hint, index, seen);
    hints.push(hint);
  }
  return { hints, tracksOnly };
}

/** A hint's fields fit the wire and its track id is new (both directions). */
function checkHint(hint: TrackHint, index: number, seen: Set<number>): void {
  const { track } = hint;
  if (!Number.isInteger(track) || track < 1 || track > U32_MAX) {
    throw new ProtocolError(
      "BAD_HEADER",
      `track hint ${index} id must be an integer in 1..${U32_MAX}, got ${track}`,
    );
  }
  if (seen.has(track)) {
    throw new ProtocolError(
      "BAD_HEADER",
      `track hint ${index} repeats track id ${track}`,
    );
  }
  seen.add(track);
  const fields: [number, string, number][] = [
    [hint.x, "x", I32_MIN],
    [hint.y, "y", I32_MIN],
    [hint.w, "w", 0],
    [hint.h, "h", 0],
  ];
  for (const [value, name, min] of fields) {
    if (!Number.isInteger(value) || value < min || value > I32_MAX) {
      throw new ProtocolError(
        "BAD_HEADER",
        `track hint ${index} ${name} must be an integer in ${min}..${I32_MAX}, got ${value}`,
      );
    }
  }
  if (typeof hint.skip !== "boolean") {
    throw new ProtocolError(
      "BAD_HEADER",
      `track hint ${index} skip must be a boolean`,
    );
  }
}
