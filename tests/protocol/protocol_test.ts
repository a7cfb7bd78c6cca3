import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import {
  decodeLegacyReply,
  decodeReply,
  decodeRequest,
  DEFAULT_LIMITS,
  encodeError,
  encodeLegacyError,
  encodeLegacyReply,
  encodeLegacyRequest,
  encodeReply,
  encodeRequest,
  type ErrorCode,
  errorReplyFor,
  type FrameReply,
  type FrameRequest,
  jpegSize,
  MAX_ERROR_MESSAGE_BYTES,
  ProtocolError,
  REPLY_HEADER_BYTES,
  REQUEST_HEADER_BYTES,
} from "../../lib/protocol/protocol.ts";

const utf8 = new TextEncoder();

/** Asserts that `fn` throws a ProtocolError with `code` (and dialect). */
function assertCode(fn: () => unknown, code: ErrorCode, legacy = false): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ProtocolError, `not a ProtocolError: ${error}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.legacy, legacy, `legacy flag for ${error.message}`);
    assert.ok(error.message.length > 0);
    return true;
  });
}

function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");
}

function fromHex(text: string): Uint8Array {
  const clean = text.replace(/\s+/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  }
  return out;
}

/** A gradient image, so that any byte shuffling would show. */
function gradient(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 7 + 3) & 0xff;
  return out;
}

/** A real baseline JPEG made by jpeg-js (returns a Node Buffer). */
function makeJpeg(width: number, height: number): Uint8Array {
  const rgba = gradient(width * height * 4);
  return jpeg.encode({ data: rgba, width, height }, 80).data;
}

interface RawRequestFields {
  version?: number;
  type?: number;
  format?: number;
  mode?: number;
  width?: number;
  height?: number;
  frameId?: number;
  byteCount?: number;
  timestamp?: number;
  length?: number;
}

/** Builds a request header field by field, bypassing encodeRequest checks. */
function rawRequestHeader(fields: RawRequestFields): Uint8Array {
  const header = new Uint8Array(fields.length ?? REQUEST_HEADER_BYTES);
  const full = new Uint8Array(Math.max(header.length, 32));
  const view = new DataView(full.buffer);
  full.set(utf8.encode("FZMQ"), 0);
  full[4] = fields.version ?? 1;
  full[5] = fields.type ?? 1;
  full[6] = fields.format ?? 1;
  full[7] = fields.mode ?? 0;
  view.setUint32(8, fields.width ?? 2, true);
  view.setUint32(12, fields.height ?? 2, true);
  view.setUint32(16, fields.frameId ?? 0, true);
  view.setUint32(20, fields.byteCount ?? 4, true);
  view.setFloat64(24, fields.timestamp ?? 0, true);
  header.set(full.subarray(0, header.length));
  return header;
}

const baseRequest: FrameRequest = {
  kind: "frame",
  format: "grey8",
  width: 4,
  height: 3,
  frameId: 41,
  timestamp: 1718000000123.25,
  reply: "faces",
  pixels: gradient(12),
};

// ---------------------------------------------------------------- layout

Deno.test("request header layout matches the hand-computed example in docs/protocol.md", () => {
  const parts = encodeRequest({
    kind: "frame",
    format: "grey8",
    width: 2,
    height: 1,
    frameId: 7,
    timestamp: 1.5,
    reply: "faces+frame",
    frameFormat: "jpeg",
    pixels: new Uint8Array([10, 20]),
  });
  assert.equal(parts.length, 2);
  assert.equal(
    hex(parts[0]),
    "46 5a 4d 51 01 01 01 02 02 00 00 00 01 00 00 00 " +
      "07 00 00 00 02 00 00 00 00 00 00 00 00 00 f8 3f",
  );
  assert.deepEqual([...parts[1]], [10, 20]);
});

Deno.test("reply layout matches the hand-computed example in docs/protocol.md", () => {
  const parts = encodeReply({
    kind: "reply",
    frameId: 7,
    timestamp: 1.5,
    faces: [{ x: 1, y: 2, w: 3, h: 4, label: "ab", distance: 0.5 }],
    timings: {
      decode: 0,
      detect: 0,
      recognise: 0,
      draw: 0,
      encode: 0,
      total: 2,
    },
  });
  assert.equal(
    hex(parts[0]),
    "46 5a 4d 51 01 02 00 00 07 00 00 00 01 00 00 00 " +
      "00 00 00 00 00 00 f8 3f " + "00 ".repeat(40) +
      "00 00 00 00 00 00 00 40 " +
      "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 " +
      "01 00 00 00 02 00 00 00 03 00 00 00 04 00 00 00 " +
      "00 00 00 00 00 00 e0 3f 02 00 61 62",
  );
  assert.equal(parts[0].length, REPLY_HEADER_BYTES + 26 + 2);
  assert.equal(parts[1].length, 0);
});

Deno.test("error layout matches the hand-computed example in docs/protocol.md", () => {
  const parts = encodeError("BAD_SIZE", "bad");
  assert.equal(hex(parts[0]), "46 5a 4d 51 01 03 08 00 03 00 00 00 62 61 64");
  assert.equal(parts[1].length, 0);
});

Deno.test("the Python struct.pack example of docs/protocol.md decodes", () => {
  // Bytes printed by the snippet in docs/protocol.md:
  // struct.pack("<4sBBBBIIIId", b"FZMQ", 1, 1, 3, 1, 2, 1, 9, 6, 2.0)
  const header = fromHex(
    "465a4d51 01 01 03 01 02000000 01000000 09000000 06000000 0000000000000040",
  );
  const request = decodeRequest([header, new Uint8Array([1, 2, 3, 4, 5, 6])]);
  assert.deepEqual(request, {
    kind: "frame",
    format: "bgr24",
    width: 2,
    height: 1,
    frameId: 9,
    timestamp: 2,
    reply: "faces+frame",
    frameFormat: "rgb24",
    pixels: new Uint8Array([1, 2, 3, 4, 5, 6]),
  });
});

// ---------------------------------------------------------- round trips

Deno.test("requests round-trip in every pixel format and reply mode", () => {
  const cases: FrameRequest[] = [
    { ...baseRequest },
    { ...baseRequest, format: "rgb24", pixels: gradient(36), frameId: 0 },
    {
      ...baseRequest,
      format: "bgr24",
      pixels: gradient(36),
      frameId: 0xffffffff,
      reply: "faces+frame",
      frameFormat: "rgb24",
    },
    {
      ...baseRequest,
      format: "jpeg",
      width: 33,
      height: 17,
      pixels: makeJpeg(33, 17),
      timestamp: -0.125,
      reply: "faces+frame",
      frameFormat: "jpeg",
    },
  ];
  for (const request of cases) {
    const decoded = decodeRequest(encodeRequest(request));
    assert.equal(decoded.kind, "frame");
    assert.deepEqual({ ...decoded, pixels: [...decoded.pixels] }, {
      ...request,
      pixels: [...request.pixels],
    });
  }
});

Deno.test("encodeRequest defaults the frame format to jpeg", () => {
  const decoded = decodeRequest(
    encodeRequest({ ...baseRequest, reply: "faces+frame" }),
  ) as FrameRequest;
  assert.equal(decoded.frameFormat, "jpeg");
});

Deno.test("decoded pixels are views of the received part, not copies", () => {
  const backing = new Uint8Array(100);
  const received = backing.subarray(50, 62); // like a zmq Buffer slice
  received.set(gradient(12));
  const parts = encodeRequest({ ...baseRequest, pixels: received });
  assert.equal(parts[1], received);
  const decoded = decodeRequest(parts);
  assert.equal(decoded.pixels.buffer, backing.buffer);
  assert.equal(decoded.pixels.byteOffset, 50);
  backing[50] = 255;
  assert.equal(decoded.pixels[0], 255);
});

Deno.test("Node Buffers are accepted and returned as plain Uint8Array views", () => {
  const jpegBuffer = makeJpeg(8, 8);
  assert.notEqual(jpegBuffer.constructor, Uint8Array);
  const decoded = decodeRequest(
    encodeRequest({
      ...baseRequest,
      format: "jpeg",
      width: 8,
      height: 8,
      pixels: jpegBuffer,
    }),
  );
  assert.equal(decoded.pixels.constructor, Uint8Array);
  assert.equal(decoded.pixels.buffer, jpegBuffer.buffer);
});

const sampleReply: FrameReply = {
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

Deno.test("replies round-trip without a frame", () => {
  const parts = encodeReply(sampleReply);
  assert.equal(parts[1].length, 0);
  assert.deepEqual(decodeReply(parts), sampleReply);
});

Deno.test("replies round-trip with an rgb24 or jpeg frame", () => {
  const rgb = {
    ...sampleReply,
    frame: {
      format: "rgb24" as const,
      width: 5,
      height: 4,
      pixels: gradient(60),
    },
  };
  assert.deepEqual(decodeReply(encodeReply(rgb)), rgb);
  const jpg = makeJpeg(21, 9);
  const withJpeg = {
    ...sampleReply,
    faces: [],
    frame: { format: "jpeg" as const, width: 21, height: 9, pixels: jpg },
  };
  const decoded = decodeReply(encodeReply(withJpeg)) as FrameReply;
  assert.deepEqual(decoded.frame?.pixels, new Uint8Array(jpg));
  assert.deepEqual({ ...decoded, frame: undefined }, {
    ...withJpeg,
    frame: undefined,
  });
});

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

// ------------------------------------------------ request validation

Deno.test("request validation: parts", () => {
  const [header, pixels] = encodeRequest(baseRequest);
  assertCode(
    () => decodeRequest("nope" as unknown as Uint8Array[]),
    "BAD_PARTS",
  );
  assertCode(() => decodeRequest([]), "BAD_PARTS");
  assertCode(
    () => decodeRequest(["FZMQ", pixels] as unknown as Uint8Array[]),
    "BAD_PARTS",
  );
  assertCode(() => decodeRequest([header]), "BAD_PARTS");
  assertCode(
    () => decodeRequest([header, pixels, new Uint8Array(0)]),
    "BAD_PARTS",
  );
  assertCode(
    () => decodeRequest([header, [1, 2] as unknown as Uint8Array]),
    "BAD_PARTS",
  );
});

Deno.test("request validation: magic, version, type, header length", () => {
  const pixels = gradient(4);
  assertCode(() => decodeRequest([new Uint8Array(0), pixels]), "BAD_MAGIC");
  assertCode(() => decodeRequest([utf8.encode("FZ"), pixels]), "BAD_MAGIC");
  assertCode(
    () => decodeRequest([utf8.encode("GET / HTTP/1.1"), pixels]),
    "BAD_MAGIC",
  );
  assertCode(
    () => decodeRequest([utf8.encode(" {}"), pixels]),
    "BAD_MAGIC",
  );
  assertCode(
    () => decodeRequest([rawRequestHeader({ length: 7 }), pixels]),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 2 }), pixels]),
    "BAD_VERSION",
  );
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 0 }), pixels]),
    "BAD_VERSION",
  );
  // A future version is reported as such even with another part count.
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 2 }), pixels, pixels]),
    "BAD_VERSION",
  );
  for (const type of [0, 2, 3, 255]) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ type }), pixels]),
      "BAD_TYPE",
    );
  }
  for (const length of [8, 31, 33, 64]) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ length }), pixels]),
      "BAD_HEADER",
    );
  }
  assert.equal(
    decodeRequest([rawRequestHeader({}), pixels]).kind,
    "frame",
  );
});

Deno.test("request validation: format, reply mode, timestamp", () => {
  const pixels = gradient(4);
  for (const format of [0, 5, 255]) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ format }), pixels]),
      "BAD_FORMAT",
    );
  }
  for (const mode of [3, 255]) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ mode }), pixels]),
      "BAD_HEADER",
    );
  }
  for (const timestamp of [NaN, Infinity, -Infinity]) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ timestamp }), pixels]),
      "BAD_HEADER",
    );
  }
});

Deno.test("request validation: dimensions and pixel count limits", () => {
  const pixels = gradient(4);
  const dims: [number, number][] = [
    [0, 2],
    [2, 0],
    [4097, 1],
    [1, 4097],
    [0xffffffff, 0xffffffff], // absurd: must not allocate
  ];
  for (const [width, height] of dims) {
    assertCode(
      () => decodeRequest([rawRequestHeader({ width, height }), pixels]),
      "BAD_DIMENSIONS",
    );
  }
  // 4096 x 4096 is in bounds for each side; the pixel cap decides.
  assertCode(
    () =>
      decodeRequest([rawRequestHeader({ width: 4096, height: 4096 }), pixels], {
        maxPixels: 1000,
      }),
    "TOO_LARGE",
  );
  assertCode(
    () =>
      decodeRequest([rawRequestHeader({ width: 3 }), gradient(6)], {
        maxWidth: 2,
      }),
    "BAD_DIMENSIONS",
  );
  assertCode(
    () =>
      decodeRequest([rawRequestHeader({ height: 3 }), gradient(6)], {
        maxHeight: 2,
      }),
    "BAD_DIMENSIONS",
  );
  assert.equal(
    decodeRequest(
      [rawRequestHeader({ width: 3, byteCount: 6 }), gradient(6)],
      { maxWidth: 3, maxPixels: 6 },
    ).width,
    3,
  );
});

Deno.test("request validation: byte counts of raw formats", () => {
  // Header announces a different count from what part 1 holds.
  assertCode(
    () => decodeRequest([rawRequestHeader({ byteCount: 5 }), gradient(4)]),
    "BAD_SIZE",
  );
  // Header and part agree, but not with width * height * channels.
  for (const [format, good] of [[1, 4], [2, 12], [3, 12]]) {
    for (const count of [0, good - 1, good + 1, good * 3]) {
      assertCode(
        () =>
          decodeRequest([
            rawRequestHeader({ format, byteCount: count }),
            gradient(count),
          ]),
        "BAD_SIZE",
      );
    }
    assert.equal(
      decodeRequest([
        rawRequestHeader({ format, byteCount: good }),
        gradient(good),
      ]).kind,
      "frame",
    );
  }
});

Deno.test("request validation: jpeg pixels", () => {
  const jpg = makeJpeg(16, 8);
  const header = (byteCount: number, width = 16, height = 8) =>
    rawRequestHeader({ format: 4, width, height, byteCount });
  assertCode(
    () => decodeRequest([header(0), new Uint8Array(0)]),
    "BAD_PIXELS",
  );
  assertCode(
    () => decodeRequest([header(jpg.length), jpg], { maxJpegBytes: 100 }),
    "TOO_LARGE",
  );
  assertCode(
    () => decodeRequest([header(4), new Uint8Array([1, 2, 3, 4])]),
    "CORRUPT_JPEG",
  );
  assertCode(
    () => decodeRequest([header(20), jpg.subarray(0, 20)]),
    "CORRUPT_JPEG",
  );
  assertCode(
    () => decodeRequest([header(jpg.length, 8, 16), jpg]),
    "BAD_DIMENSIONS",
  );
  assertCode(
    () => decodeRequest([header(jpg.length, 16, 9), jpg]),
    "BAD_DIMENSIONS",
  );
  const ok = decodeRequest([header(jpg.length), jpg]);
  assert.equal(ok.kind === "frame" && ok.format, "jpeg");
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

// ----------------------------------------------- encoder validation

Deno.test("encodeRequest rejects fields that would not fit or are wrong", () => {
  const bad: [Partial<FrameRequest>, ErrorCode][] = [
    [{ format: "rgba32" as never }, "BAD_FORMAT"],
    [{ reply: "everything" as never }, "BAD_HEADER"],
    [{ reply: "faces", frameFormat: "jpeg" }, "BAD_HEADER"],
    [{ reply: "faces+frame", frameFormat: "png" as never }, "BAD_HEADER"],
    [{ width: 4.5 }, "BAD_HEADER"],
    [{ width: -4 }, "BAD_HEADER"],
    [{ height: 2 ** 32 }, "BAD_HEADER"],
    [{ frameId: 2 ** 32 }, "BAD_HEADER"],
    [{ frameId: -1 }, "BAD_HEADER"],
    [{ timestamp: NaN }, "BAD_HEADER"],
    [{ pixels: [1, 2] as never }, "BAD_PIXELS"],
    [{ pixels: gradient(11) }, "BAD_SIZE"],
    [{ format: "rgb24" }, "BAD_SIZE"],
    [{ format: "jpeg", pixels: new Uint8Array(0) }, "BAD_PIXELS"],
    [{ format: "jpeg", pixels: gradient(12) }, "CORRUPT_JPEG"],
    [{ format: "jpeg", pixels: makeJpeg(3, 4) }, "BAD_DIMENSIONS"],
  ];
  for (const [change, code] of bad) {
    assertCode(() => encodeRequest({ ...baseRequest, ...change }), code);
  }
});

Deno.test("encodeReply rejects fields that would not fit or are wrong", () => {
  const face = sampleReply.faces[0];
  const bad: [Partial<FrameReply>, ErrorCode][] = [
    [{ frameId: 1.5 }, "BAD_HEADER"],
    [{ timestamp: Infinity }, "BAD_HEADER"],
    [{ timings: { ...sampleReply.timings, draw: -1 } }, "BAD_HEADER"],
    [{ timings: { ...sampleReply.timings, total: NaN } }, "BAD_HEADER"],
    [{ faces: [{ ...face, label: "" }] }, "BAD_HEADER"],
    [{ faces: [{ ...face, label: "é".repeat(129) }] }, "BAD_HEADER"],
    [{ faces: [{ ...face, x: 0.5 }] }, "BAD_HEADER"],
    [{ faces: [{ ...face, y: 2 ** 31 }] }, "BAD_HEADER"],
    [{ faces: [{ ...face, w: -1 }] }, "BAD_HEADER"],
    [{ faces: [{ ...face, distance: NaN }] }, "BAD_HEADER"],
    [{ faces: new Array(DEFAULT_LIMITS.maxFaces + 1).fill(face) }, "TOO_LARGE"],
    [
      {
        frame: {
          format: "grey8" as never,
          width: 2,
          height: 2,
          pixels: gradient(4),
        },
      },
      "BAD_FORMAT",
    ],
    [
      { frame: { format: "rgb24", width: 2, height: 2, pixels: gradient(4) } },
      "BAD_SIZE",
    ],
    [
      { frame: { format: "jpeg", width: 2, height: 2, pixels: gradient(4) } },
      "CORRUPT_JPEG",
    ],
  ];
  for (const [change, code] of bad) {
    assertCode(() => encodeReply({ ...sampleReply, ...change }), code);
  }
  const label256 = "é".repeat(128);
  const reply = { ...sampleReply, faces: [{ ...face, label: label256 }] };
  assert.deepEqual(decodeReply(encodeReply(reply)), reply);
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

// ------------------------------------------------ reply validation

/** Encodes sampleReply with one face, then lets `edit` corrupt it. */
function editedReply(edit: (header: Uint8Array, view: DataView) => void) {
  const [header, pixels] = encodeReply({
    ...sampleReply,
    faces: [sampleReply.faces[0]],
  });
  edit(header, new DataView(header.buffer));
  return [header, pixels];
}

Deno.test("reply validation: prefix and parts", () => {
  const [header] = encodeReply(sampleReply);
  assertCode(() => decodeReply([]), "BAD_PARTS");
  assertCode(
    () => decodeReply([utf8.encode("{}"), new Uint8Array(0)]),
    "BAD_MAGIC",
  );
  assertCode(() => decodeReply([header]), "BAD_PARTS");
  assertCode(
    () => decodeReply([header, new Uint8Array(0), new Uint8Array(0)]),
    "BAD_PARTS",
  );
  assertCode(
    () => decodeReply([header.subarray(0, 6), new Uint8Array(0)]),
    "BAD_HEADER",
  );
  assertCode(() => decodeReply(editedReply((h) => h[4] = 9)), "BAD_VERSION");
  assertCode(() => decodeReply(editedReply((h) => h[5] = 1)), "BAD_TYPE");
  assertCode(
    () =>
      decodeReply([
        header.subarray(0, REPLY_HEADER_BYTES - 1),
        new Uint8Array(0),
      ]),
    "BAD_HEADER",
  );
  assertCode(() => decodeReply(editedReply((h) => h[7] = 1)), "BAD_HEADER");
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setUint32(84, 1, true))),
    "BAD_HEADER",
  );
});

Deno.test("reply validation: numbers and faces", () => {
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setFloat64(16, NaN, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setFloat64(32, -1, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setFloat64(64, Infinity, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setUint32(12, 0xffffffff, true))),
    "TOO_LARGE",
  );
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setUint32(12, 2, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(editedReply((_, v) => v.setUint32(12, 0, true))),
    "BAD_HEADER", // bytes left after the last face
  );
  assertCode(
    () =>
      decodeReply(
        editedReply((_, v) => v.setInt32(REPLY_HEADER_BYTES + 8, -5, true)),
      ),
    "BAD_HEADER",
  );
  assertCode(
    () =>
      decodeReply(
        editedReply((_, v) => v.setFloat64(REPLY_HEADER_BYTES + 16, NaN, true)),
      ),
    "BAD_HEADER",
  );
  for (const length of [0, 257, 3]) {
    assertCode(
      () =>
        decodeReply(
          editedReply((_, v) =>
            v.setUint16(REPLY_HEADER_BYTES + 24, length, true)
          ),
        ),
      "BAD_HEADER",
    );
  }
  assertCode(
    () => decodeReply(editedReply((h) => h[REPLY_HEADER_BYTES + 26] = 0xff)),
    "BAD_HEADER", // label is not UTF-8
  );
  // Two faces announced; the first label is long enough that the second
  // record cannot fit: the header ends inside face 1.
  const two = encodeReply({
    ...sampleReply,
    faces: [{ ...sampleReply.faces[0], label: "x".repeat(20) }],
  });
  const view = new DataView(two[0].buffer);
  view.setUint32(12, 2, true);
  assertCode(() => decodeReply(two), "BAD_HEADER");
  assertCode(
    () => decodeReply(encodeReply(sampleReply), { maxFaces: 2 }),
    "TOO_LARGE",
  );
});

Deno.test("reply validation: frame", () => {
  const rgb = encodeReply({
    ...sampleReply,
    frame: { format: "rgb24", width: 2, height: 2, pixels: gradient(12) },
  });
  assertCode(() => decodeReply([rgb[0], gradient(11)]), "BAD_SIZE");
  const v = new DataView(rgb[0].buffer);
  const edit = (offset: number, value: number, size = 4) => {
    const copy = rgb[0].slice();
    const view = new DataView(copy.buffer);
    if (size === 4) view.setUint32(offset, value, true);
    else copy[offset] = value;
    return [copy, rgb[1]];
  };
  assert.equal(v.getUint32(72, true), 2);
  assertCode(() => decodeReply(edit(6, 1, 1)), "BAD_FORMAT");
  assertCode(() => decodeReply(edit(6, 3, 1)), "BAD_FORMAT");
  assertCode(() => decodeReply(edit(6, 9, 1)), "BAD_FORMAT");
  assertCode(() => decodeReply(edit(6, 4, 1)), "CORRUPT_JPEG");
  assertCode(() => decodeReply(edit(72, 0)), "BAD_DIMENSIONS");
  assertCode(() => decodeReply(edit(76, 9999)), "BAD_DIMENSIONS");
  assertCode(() => decodeReply(edit(72, 3)), "BAD_SIZE");
  assertCode(() => decodeReply(rgb, { maxPixels: 3 }), "TOO_LARGE");
  const none = encodeReply(sampleReply);
  const withWidth = none[0].slice();
  new DataView(withWidth.buffer).setUint32(72, 2, true);
  assertCode(() => decodeReply([withWidth, none[1]]), "BAD_HEADER");
  assertCode(() => decodeReply([none[0], gradient(3)]), "BAD_SIZE");
});

Deno.test("error reply validation", () => {
  const [header, empty] = encodeError("BUSY", "later");
  const edit = (change: (h: Uint8Array, v: DataView) => void) => {
    const copy = header.slice();
    change(copy, new DataView(copy.buffer));
    return [copy, empty];
  };
  assertCode(() => decodeReply([header, gradient(1)]), "BAD_SIZE");
  assertCode(() => decodeReply([header.subarray(0, 11), empty]), "BAD_HEADER");
  assertCode(() => decodeReply(edit((h) => h[7] = 1)), "BAD_HEADER");
  assertCode(
    () => decodeReply(edit((_, v) => v.setUint32(8, 4, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(edit((_, v) => v.setUint32(8, 6, true))),
    "BAD_HEADER",
  );
  assertCode(
    () => decodeReply(edit((_, v) => v.setUint32(8, 0xffffffff, true))),
    "BAD_HEADER",
  );
  assertCode(() => decodeReply(edit((h) => h[12] = 0xc3)), "BAD_HEADER");
  assertCode(() => decodeReply(edit((h) => h[4] = 2)), "BAD_VERSION");
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

// ----------------------------------------------------------- jpegSize

Deno.test("jpegSize agrees with jpeg-js on real JPEGs", () => {
  for (const [width, height] of [[1, 1], [16, 8], [92, 112], [301, 7]]) {
    const bytes = makeJpeg(width, height);
    const decoded = jpeg.decode(bytes, { useTArray: true });
    assert.deepEqual(jpegSize(bytes), {
      width: decoded.width,
      height: decoded.height,
    });
    assert.deepEqual(jpegSize(bytes), { width, height });
  }
});

Deno.test("jpegSize skips fill bytes and DHT, reads progressive SOF2", () => {
  const bytes = fromHex(
    "ffd8 ffff" + // SOI, then a fill byte before the next marker
      "ffc4 0004 0000" + // DHT (C4 is not a SOF), 2 payload bytes
      "ffc2 000b 08 0070 005c 01 01 11 00", // SOF2 112 x 92, 1 component
  );
  assert.deepEqual(jpegSize(bytes), { width: 92, height: 112 });
});

Deno.test("jpegSize rejects what is not a JPEG", () => {
  const bad = [
    "",
    "ffd8",
    "ffd9 0000",
    "ffd8 00",
    "ffd8 ffe0 0010", // APP0 running past the end
    "ffd8 ffe0 0001 0000", // segment length < 2
    "ffd8 1234 5678", // no marker
    "ffd8 ffda 0008 0000 0000", // scan before any frame header
    "ffd8 ffd9 0000", // end before any frame header
    "ffd8 ffc0 0011 08 0070", // truncated SOF
    "ffd8 ffc0 0006 08 0000 005c", // SOF shorter than 8
    "ffd8 ffc0 000b 08 0000 005c 01 01 11 00", // height 0
    "ffd8 ffc0 000b 08 0070 0000 01 01 11 00", // width 0
  ];
  for (const text of bad) {
    assertCode(() => jpegSize(fromHex(text)), "CORRUPT_JPEG");
  }
});

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
