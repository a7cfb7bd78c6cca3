import assert from "node:assert/strict";
import { encodeError, encodeReply } from "../../lib/protocol/binary.ts";
import { decodeRequest } from "../../lib/protocol/dispatch.ts";
import type { ErrorCode } from "../../lib/protocol/errors.ts";
import {
  decodeLegacyReply,
  encodeLegacyError,
  encodeLegacyReply,
  encodeLegacyRequest,
} from "../../lib/protocol/legacy.ts";
import { assertCode, gradient, sampleReply, utf8 } from "./_helpers.ts";

// ------------------------------------------------------------ legacy

Deno.test("legacy requests: exact pyzmq send_json bytes decode", () => {
  // json.dumps(dict(dtype=str(a.dtype), shape=a.shape)) as pyzmq 24 sends it,
  // printed by /usr/bin/python3 for a (3, 4, 3) and a (3, 4) uint8 array.
  const bgr = gradient(36);
  const colour = decodeRequest([
    utf8.encode('{"dtype": "uint8", "shape": [3, 4, 3]}'),
    bgr,
  ]);
  assert.deepEqual(colour, {
    kind: "legacy",
    width: 4,
    height: 3,
    channels: 3,
    pixels: bgr,
  });
  const grey = decodeRequest([
    utf8.encode('{"dtype": "uint8", "shape": [3, 4]}'),
    gradient(12),
  ]);
  assert.equal(grey.kind, "legacy");
  assert.equal(grey.kind === "legacy" && grey.channels, 1);
  const grey1 = decodeRequest([
    utf8.encode('{"shape":[3,4,1],"dtype":"uint8","extra":true}'),
    gradient(12),
  ]);
  assert.equal(grey1.kind === "legacy" && grey1.channels, 1);
});

Deno.test("encodeLegacyRequest writes what pyzmq writes", () => {
  const parts = encodeLegacyRequest(gradient(36), { width: 4, height: 3 });
  assert.equal(
    new TextDecoder().decode(parts[0]),
    '{"dtype": "uint8", "shape": [3, 4, 3]}',
  );
  const grey = encodeLegacyRequest(gradient(12), {
    width: 4,
    height: 3,
    channels: 1,
  });
  assert.equal(
    new TextDecoder().decode(grey[0]),
    '{"dtype": "uint8", "shape": [3, 4]}',
  );
  assert.deepEqual(decodeRequest(grey), {
    kind: "legacy",
    width: 4,
    height: 3,
    channels: 1,
    pixels: gradient(12),
  });
});

Deno.test("legacy replies round-trip", () => {
  const parts = encodeLegacyReply(gradient(60), { width: 5, height: 4 });
  assert.equal(
    new TextDecoder().decode(parts[0]),
    '{"dtype": "uint8", "shape": [4, 5, 3]}',
  );
  assert.deepEqual(decodeLegacyReply(parts), {
    kind: "legacy-reply",
    width: 5,
    height: 4,
    channels: 3,
    pixels: gradient(60),
  });
});

Deno.test("legacy error reply shape: JSON with error and code, then an empty part", () => {
  const parts = encodeLegacyError("BAD_SIZE", "shape [2, 2, 3] needs 12 bytes");
  assert.equal(parts.length, 2);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(parts[0])), {
    error: "shape [2, 2, 3] needs 12 bytes",
    code: "BAD_SIZE",
  });
  assert.equal(parts[1].length, 0);
});

// ------------------------------------------------- legacy validation

Deno.test("legacy validation: size cap, UTF-8, JSON, parts", () => {
  const pixels = gradient(12);
  const good = utf8.encode('{"dtype": "uint8", "shape": [2, 2, 3]}');
  const padded = utf8.encode(
    `{"dtype": "uint8", "shape": [2, 2, 3], "pad": "${"x".repeat(2000)}"}`,
  );
  assertCode(() => decodeRequest([padded, pixels]), "TOO_LARGE", true);
  assert.equal(
    decodeRequest([padded, pixels], { maxJsonBytes: 4096 }).kind,
    "legacy",
  );
  assertCode(
    () => decodeRequest([new Uint8Array([0x7b, 0xff, 0x7d]), pixels]),
    "BAD_JSON",
    true,
  );
  for (const text of ["{", '{"dtype": }', "{} []", '{"a":1}x']) {
    assertCode(
      () => decodeRequest([utf8.encode(text), pixels]),
      "BAD_JSON",
      true,
    );
  }
  assertCode(() => decodeRequest([good]), "BAD_PARTS", true);
  assertCode(() => decodeRequest([good, pixels, pixels]), "BAD_PARTS", true);
  assert.equal(decodeRequest([good, pixels]).kind, "legacy");
});

Deno.test("legacy validation: dtype and shape types", () => {
  const pixels = gradient(12);
  const bad: [string, ErrorCode][] = [
    ['{"shape": [2, 2, 3]}', "BAD_HEADER"],
    ['{"dtype": 8, "shape": [2, 2, 3]}', "BAD_HEADER"],
    ['{"dtype": ["uint8"], "shape": [2, 2, 3]}', "BAD_HEADER"],
    ['{"dtype": "float32", "shape": [2, 2, 3]}', "BAD_FORMAT"],
    ['{"dtype": "uint16", "shape": [2, 2, 3]}', "BAD_FORMAT"],
    ['{"dtype": "uint8"}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": "2,2,3"}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": {"0": 2}}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [12]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [1, 2, 2, 3]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": ["2", 2, 3]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [2, 2.5, 3]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [2, null, 3]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [2, 1e400, 3]}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [2, true, 3]}', "BAD_HEADER"],
    ['{"__proto__": {"dtype": "uint8", "shape": [2, 2, 3]}}', "BAD_HEADER"],
    ['{"dtype": "uint8", "shape": [2, 2, 4]}', "BAD_FORMAT"],
    ['{"dtype": "uint8", "shape": [2, 2, 2]}', "BAD_FORMAT"],
    ['{"dtype": "uint8", "shape": [2, 2, 0]}', "BAD_FORMAT"],
    ['{"dtype": "uint8", "shape": [0, 2, 3]}', "BAD_DIMENSIONS"],
    ['{"dtype": "uint8", "shape": [2, -2, 3]}', "BAD_DIMENSIONS"],
    ['{"dtype": "uint8", "shape": [4097, 2, 3]}', "BAD_DIMENSIONS"],
    ['{"dtype": "uint8", "shape": [2, 1e20, 3]}', "BAD_DIMENSIONS"],
    ['{"dtype": "uint8", "shape": [4096, 4096, 3]}', "TOO_LARGE"],
  ];
  for (const [text, code] of bad) {
    assertCode(
      () =>
        decodeRequest([utf8.encode(text), pixels], {
          maxPixels: 4096 * 4095,
        }),
      code,
      true,
    );
  }
});

Deno.test("legacy validation: byte count must equal the shape product", () => {
  const header = utf8.encode('{"dtype": "uint8", "shape": [2, 2, 3]}');
  for (const count of [0, 4, 11, 13, 24]) {
    assertCode(
      () => decodeRequest([header, gradient(count)]),
      "BAD_SIZE",
      true,
    );
  }
});

Deno.test("legacy encoders reject shapes that disagree with the bytes", () => {
  assertCode(
    () =>
      encodeLegacyRequest(gradient(12), {
        width: 2,
        height: 2,
        channels: 4 as never,
      }),
    "BAD_FORMAT",
    true,
  );
  assertCode(
    () => encodeLegacyReply(gradient(11), { width: 2, height: 2 }),
    "BAD_SIZE",
    true,
  );
  assertCode(
    () => encodeLegacyReply(gradient(12), { width: 2.5, height: 2 }),
    "BAD_HEADER",
  );
  assertCode(() => encodeError("NOPE" as never, "x"), "BAD_HEADER");
  assertCode(() => encodeLegacyError("NOPE" as never, "x"), "BAD_HEADER");
});

Deno.test("legacy reply validation", () => {
  const good = encodeLegacyReply(gradient(12), { width: 2, height: 2 });
  assertCode(() => decodeLegacyReply([]), "BAD_PARTS");
  assertCode(
    () => decodeLegacyReply(encodeReply(sampleReply)),
    "BAD_MAGIC",
    true,
  );
  assertCode(() => decodeLegacyReply([good[0]]), "BAD_PARTS", true);
  assertCode(
    () => decodeLegacyReply([good[0], gradient(13)]),
    "BAD_SIZE",
    true,
  );
  assertCode(
    () => decodeLegacyReply([utf8.encode("{oops"), gradient(12)]),
    "BAD_JSON",
    true,
  );
  const error = (text: string, tail: Uint8Array = new Uint8Array(0)) => [
    utf8.encode(text),
    tail,
  ];
  assertCode(
    () => decodeLegacyReply(error('{"error": 1, "code": "BUSY"}')),
    "BAD_HEADER",
    true,
  );
  assertCode(
    () => decodeLegacyReply(error('{"error": "x"}')),
    "BAD_HEADER",
    true,
  );
  assertCode(
    () =>
      decodeLegacyReply(error('{"error": "x", "code": "BUSY"}', gradient(2))),
    "BAD_SIZE",
    true,
  );
  assertCode(
    () => decodeLegacyReply(error('{"dtype": "uint8", "shape": [2, 2, 5]}')),
    "BAD_FORMAT",
    true,
  );
});
