/**
 * What the session tests' in-process servers share: the server timings
 * they report, and the reply to a request.
 *
 * @module
 */

import {
  encodeReply,
  type FrameReply,
  type FrameRequest,
  type ReplyFace,
} from "../../lib/protocol/binary.ts";

/** The server stages every fake reply reports. */
export const TIMINGS = {
  decode: 0.1,
  detect: 2,
  recognise: 1,
  draw: 0,
  encode: 0,
  total: 3.5,
};

/** The reply to `request` with `faces`; `extra` adds or overrides fields. */
export function fakeReply(
  request: FrameRequest,
  faces: ReplyFace[],
  extra: Partial<FrameReply> = {},
): Uint8Array[] {
  return encodeReply({
    kind: "reply",
    frameId: request.frameId,
    timestamp: request.timestamp,
    faces,
    timings: TIMINGS,
    ...extra,
  });
}
