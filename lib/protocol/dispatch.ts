/**
 * The server's side of the two dialects sharing one socket: a request is
 * binary when part 0 starts with `FZMQ` and legacy when it starts with `{`
 * ({@link decodeRequest}), and a request that failed is answered in the
 * dialect it came in ({@link errorReplyFor}). Clients know which dialect
 * they speak and use `binary.ts` or `legacy.ts` directly.
 *
 * @module
 */

import { checkPartsArray, withLimits } from "./_validate.ts";
import {
  decodeFrameRequest,
  encodeError,
  type FrameRequest,
  isBinaryHeader,
} from "./binary.ts";
import { type ErrorCode, type Limits, ProtocolError } from "./errors.ts";
import {
  decodeLegacyRequest,
  encodeLegacyError,
  isLegacyHeader,
  type LegacyRequest,
} from "./legacy.ts";

/**
 * Decodes and validates a request in either dialect: part 0 starting with
 * `FZMQ` is the binary protocol, starting with `{` is the legacy JSON one.
 * Returned pixels are views of part 1. Throws {@link ProtocolError} (with
 * `legacy` set for the JSON dialect) for anything malformed or over `limits`.
 */
export function decodeRequest(
  parts: readonly Uint8Array[],
  limits?: Partial<Limits>,
): FrameRequest | LegacyRequest {
  checkPartsArray(parts, "request");
  const header = parts[0];
  const all = withLimits(limits);
  if (isLegacyHeader(header)) return decodeLegacyRequest(parts, all);
  if (!isBinaryHeader(header)) {
    throw new ProtocolError(
      "BAD_MAGIC",
      'request part 0 starts with neither the magic "FZMQ" nor "{" (legacy JSON)',
    );
  }
  return decodeFrameRequest(parts, all);
}

/** Options of {@link errorReplyFor}. */
export interface ErrorReplyOptions {
  /**
   * Answer in the legacy dialect. Defaults to the error's own `legacy` flag
   * for a {@link ProtocolError}, else false.
   */
  legacy?: boolean;
}

/**
 * Turns anything thrown while handling a request into the error reply to
 * send: a {@link ProtocolError} keeps its code and message; any other error
 * becomes `INTERNAL` with a generic message (no internals leak to clients).
 */
export function errorReplyFor(
  error: unknown,
  options: ErrorReplyOptions = {},
): Uint8Array[] {
  let code: ErrorCode = "INTERNAL";
  let message = "internal server error";
  let legacy = false;
  if (error instanceof ProtocolError) {
    code = error.code;
    message = error.message;
    legacy = error.legacy;
  }
  if (options.legacy !== undefined) legacy = options.legacy;
  return legacy ? encodeLegacyError(code, message) : encodeError(code, message);
}
