import assert from "node:assert/strict";
import {
  decodeReply,
  encodeError,
  encodeReply,
  encodeRequest,
  type FrameReply,
  type FrameRequest,
} from "../../lib/protocol/binary.ts";
import { decodeRequest } from "../../lib/protocol/dispatch.ts";
import { DEFAULT_LIMITS, type ErrorCode } from "../../lib/protocol/errors.ts";
import {
  REPLY_HEADER_BYTES,
  REQUEST_HEADER_BYTES,
} from "../../lib/protocol/layout.ts";
import {
  assertCode,
  fromHex,
  gradient,
  hex,
  makeJpeg,
  sampleReply,
  sampleRequest,
  totalOnly,
  utf8,
} from "./_helpers.ts";

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

const baseRequest: FrameRequest = sampleRequest();

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
    timings: totalOnly(2),
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
  // Version 2 exists (tests/protocol/tracks_test.ts); 3 does not yet.
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 3 }), pixels]),
    "BAD_VERSION",
  );
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 0 }), pixels]),
    "BAD_VERSION",
  );
  // A future version is reported as such even with another part count.
  assertCode(
    () => decodeRequest([rawRequestHeader({ version: 3 }), pixels, pixels]),
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
  assertCode(() => decodeReply(edit((h) => h[4] = 3)), "BAD_VERSION");
});
