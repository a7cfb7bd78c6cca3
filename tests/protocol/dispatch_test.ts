import assert from "node:assert/strict";
import { decodeReply } from "../../lib/protocol/binary.ts";
import { decodeRequest, errorReplyFor } from "../../lib/protocol/dispatch.ts";
import { ProtocolError } from "../../lib/protocol/errors.ts";
import { decodeLegacyReply } from "../../lib/protocol/legacy.ts";
import { gradient, utf8 } from "./_helpers.ts";

// -------------------------------------------------------- errorReplyFor

Deno.test("errorReplyFor answers in the dialect of the failed request", () => {
  const legacyFailure = (() => {
    try {
      decodeRequest([
        utf8.encode('{"dtype": "uint8", "shape": [2, 2, 3]}'),
        gradient(5),
      ]);
    } catch (error) {
      return error;
    }
  })();
  const legacyParts = errorReplyFor(legacyFailure);
  const legacy = decodeLegacyReply(legacyParts);
  assert.equal(legacy.kind, "error");
  assert.equal(legacy.kind === "error" && legacy.code, "BAD_SIZE");

  const binary = decodeReply(
    errorReplyFor(new ProtocolError("BAD_MAGIC", "no magic")),
  );
  assert.deepEqual(binary, {
    kind: "error",
    code: "BAD_MAGIC",
    message: "no magic",
  });

  const internal = decodeReply(
    errorReplyFor(new TypeError("secret stack detail")),
  );
  assert.deepEqual(internal, {
    kind: "error",
    code: "INTERNAL",
    message: "internal server error",
  });
  const internalLegacy = decodeLegacyReply(
    errorReplyFor(new Error("boom"), { legacy: true }),
  );
  assert.equal(
    internalLegacy.kind === "error" && internalLegacy.code,
    "INTERNAL",
  );
  assert.equal(
    decodeReply(errorReplyFor(legacyFailure, { legacy: false })).kind,
    "error",
  );
});
