import assert from "node:assert/strict";
import { decodeReply, encodeError } from "../../lib/protocol/binary.ts";
import {
  type ErrorCode,
  MAX_ERROR_MESSAGE_BYTES,
} from "../../lib/protocol/errors.ts";
import {
  decodeLegacyReply,
  encodeLegacyError,
} from "../../lib/protocol/legacy.ts";
import { utf8 } from "./_helpers.ts";

Deno.test("error replies round-trip for every code", () => {
  const codes: ErrorCode[] = [
    "BAD_MAGIC",
    "BAD_VERSION",
    "BAD_TYPE",
    "BAD_HEADER",
    "BAD_PARTS",
    "BAD_FORMAT",
    "BAD_DIMENSIONS",
    "BAD_SIZE",
    "BAD_PIXELS",
    "CORRUPT_JPEG",
    "TOO_LARGE",
    "BAD_JSON",
    "BUSY",
    "INTERNAL",
  ];
  for (const code of codes) {
    assert.deepEqual(decodeReply(encodeError(code, `why ${code} ✓`)), {
      kind: "error",
      code,
      message: `why ${code} ✓`,
    });
    assert.deepEqual(
      decodeLegacyReply(encodeLegacyError(code, `why "${code}"\n`)),
      { kind: "error", code, message: `why "${code}"\n` },
    );
  }
});

Deno.test("long error messages are cut at a character boundary", () => {
  const message = "é".repeat(600) + "x"; // 1201 UTF-8 bytes
  const decoded = decodeReply(encodeError("INTERNAL", message));
  assert.equal(decoded.kind, "error");
  if (decoded.kind !== "error") return;
  assert.equal(decoded.message, "é".repeat(512));
  const legacy = decodeLegacyReply(encodeLegacyError("INTERNAL", message));
  assert.equal(legacy.kind, "error");
  if (legacy.kind !== "error") return;
  assert.equal(legacy.message, "é".repeat(512));
  assert.equal(utf8.encode(legacy.message).length, MAX_ERROR_MESSAGE_BYTES);
});

Deno.test("error codes a client does not know decode as UNKNOWN", () => {
  const parts = encodeError("BUSY", "later");
  parts[0][6] = 200;
  assert.deepEqual(decodeReply(parts), {
    kind: "error",
    code: "UNKNOWN",
    message: "later",
  });
  const legacy = [
    utf8.encode('{"error": "x", "code": "NEW_CODE"}'),
    new Uint8Array(0),
  ];
  assert.deepEqual(decodeLegacyReply(legacy), {
    kind: "error",
    code: "UNKNOWN",
    message: "x",
  });
});
