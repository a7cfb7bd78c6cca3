import assert from "node:assert/strict";
import {
  decodeFrameRequest,
  decodeReply,
  encodeError,
  encodeReply,
  encodeRequest,
  type FrameReply,
  type FrameRequest,
  type TrackHint,
} from "../../lib/protocol/binary.ts";
import { decodeRequest } from "../../lib/protocol/dispatch.ts";
import {
  DEFAULT_LIMITS,
  ERROR_CODES,
  ProtocolError,
} from "../../lib/protocol/errors.ts";
import {
  HINT_RECORD_BYTES,
  REPLY_V2_HEADER_BYTES,
  REQUEST_V2_HEADER_BYTES,
} from "../../lib/protocol/layout.ts";
import { mulberry32 } from "../support/fuzz_messages.ts";
import {
  assertCode,
  fromHex,
  gradient,
  hex,
  sampleReply,
  sampleRequest,
  totalOnly,
} from "./_helpers.ts";

const hints: TrackHint[] = [
  { track: 1, x: 10, y: 20, w: 92, h: 112, skip: true },
  { track: 0xffffffff, x: -5, y: -6, w: 0, h: 7, skip: false },
  { track: 42, x: 300, y: 200, w: 150, h: 150, skip: true },
];

const request: FrameRequest = { ...sampleRequest(), version: 2, hints };

const reply: FrameReply = {
  ...sampleReply,
  version: 2,
  threshold: 113.125,
  faces: [
    { ...sampleReply.faces[0], track: 1, recognised: true },
    {
      x: 300,
      y: 201,
      w: 149,
      h: 150,
      label: "",
      distance: NaN,
      track: 42,
      recognised: false,
    },
    { ...sampleReply.faces[1], track: 0, recognised: true },
    { ...sampleReply.faces[2], track: 0, recognised: true },
  ],
};

/** A copy of `parts` with part 0 edited. */
function edited(
  parts: Uint8Array[],
  change: (h: Uint8Array, v: DataView) => void,
): Uint8Array[] {
  const copy = parts[0].slice();
  change(copy, new DataView(copy.buffer));
  return [copy, parts[1]];
}

// ---------------------------------------------------------------- layout

Deno.test("version 2 request and reply match the worked example in docs/protocol.md", () => {
  const parts = encodeRequest({
    kind: "frame",
    version: 2,
    format: "grey8",
    width: 2,
    height: 1,
    frameId: 7,
    timestamp: 1.5,
    reply: "faces",
    pixels: new Uint8Array([0x0a, 0x14]),
    hints: [{ track: 3, x: 1, y: 2, w: 3, h: 4, skip: true }],
  });
  assert.equal(
    hex(parts[0]),
    hex(fromHex(`
      46 5a 4d 51 02 01 01 00  02 00 00 00 01 00 00 00
      07 00 00 00 02 00 00 00  00 00 00 00 00 00 f8 3f
      01 00 00 00  03 00 00 00  01 00 00 00 02 00 00 00
      03 00 00 00 04 00 00 00  01 00 00 00`)),
  );
  assert.equal(parts[0].length, 60);
  const answer = encodeReply({
    kind: "reply",
    version: 2,
    threshold: 100,
    frameId: 7,
    timestamp: 1.5,
    timings: totalOnly(2),
    faces: [
      {
        x: 1,
        y: 2,
        w: 3,
        h: 4,
        label: "",
        distance: NaN,
        track: 3,
        recognised: false,
      },
      {
        x: 5,
        y: 6,
        w: 7,
        h: 8,
        label: "ab",
        distance: 0.5,
        track: 0,
        recognised: true,
      },
    ],
  });
  assert.equal(answer[0].length, 162);
  assert.equal(
    hex(answer[0]),
    hex(fromHex(`
      46 5a 4d 51 02 02 00 00  07 00 00 00 02 00 00 00
      00 00 00 00 00 00 f8 3f  ${"00 ".repeat(40)}
      00 00 00 00 00 00 00 40  ${"00 ".repeat(16)}
      00 00 00 00 00 00 59 40
      01 00 00 00 02 00 00 00  03 00 00 00 04 00 00 00
      00 00 00 00 00 00 f8 7f  03 00 00 00 00 00 00 00
      05 00 00 00 06 00 00 00  07 00 00 00 08 00 00 00
      00 00 00 00 00 00 e0 3f  00 00 00 00 01 00 02 00
      61 62`)),
  );
});

Deno.test("version 2 requests round-trip with hints, and re-encode to the same bytes", () => {
  const parts = encodeRequest(request);
  assert.equal(
    parts[0].length,
    REQUEST_V2_HEADER_BYTES + hints.length * HINT_RECORD_BYTES,
  );
  const decoded = decodeRequest(parts);
  assert.deepEqual(decoded, request);
  assert.equal(decodeFrameRequest(parts).version, 2);
  assert.deepEqual(encodeRequest(decoded as FrameRequest)[0], parts[0]);
});

Deno.test("version 2 without hints is 36 bytes and decodes with an empty list", () => {
  const { hints: _, ...plain } = request;
  const parts = encodeRequest(plain);
  assert.equal(parts[0].length, REQUEST_V2_HEADER_BYTES);
  assert.deepEqual(decodeRequest(parts), { ...plain, hints: [] });
});

Deno.test("version 1 requests and replies stay as they were: no version, no hints", () => {
  const { version: _v, hints: _h, ...v1 } = request;
  const parts = encodeRequest(v1);
  assert.equal(parts[0].length, 32);
  assert.equal(parts[0][4], 1);
  assert.deepEqual(decodeRequest(parts), v1);
  assert.deepEqual(encodeRequest({ ...v1, version: 1 }), parts);
  const answer = encodeReply(sampleReply);
  assert.equal(answer[0][4], 1);
  const decoded = decodeReply(answer);
  assert.deepEqual(decoded, sampleReply);
  assert.ok(!("version" in decoded) && !("threshold" in decoded));
});

Deno.test("version 2 replies round-trip with tracks, skipped faces and a frame", () => {
  const parts = encodeReply(reply);
  const decoded = decodeReply(parts);
  assert.deepEqual(decoded, reply);
  const framed: FrameReply = {
    ...reply,
    threshold: Infinity,
    frame: {
      format: "rgb24",
      width: 2,
      height: 2,
      pixels: gradient(12),
    },
  };
  assert.deepEqual(decodeReply(encodeReply(framed)), framed);
  // Defaults: no track is 0, a face is recognised unless it says otherwise.
  const plain = decodeReply(
    encodeReply({ ...reply, faces: [sampleReply.faces[0]] }),
  );
  assert.deepEqual(plain.kind === "reply" && plain.faces, [
    { ...sampleReply.faces[0], track: 0, recognised: true },
  ]);
});

Deno.test("an error reply carries version byte 1 and a version 2 client reads either", () => {
  const parts = encodeError("BUSY", "later");
  assert.equal(parts[0][4], 1);
  const two = edited(parts, (h) => h[4] = 2);
  assert.deepEqual(decodeReply(two), {
    kind: "error",
    code: "BUSY",
    message: "later",
  });
});

// ------------------------------------------------------------ validation

Deno.test("version 2 request validation: counts, sizes, reserved bytes, ids", () => {
  const parts = encodeRequest(request);
  const hint0 = REQUEST_V2_HEADER_BYTES;
  const cases: [string, Uint8Array[], string][] = [
    [
      "shorter than 36 bytes",
      [parts[0].subarray(0, 35), parts[1]],
      "BAD_HEADER",
    ],
    ["only the v1 header", [parts[0].subarray(0, 32), parts[1]], "BAD_HEADER"],
    [
      "count above the records",
      edited(parts, (_, v) => v.setUint16(32, 4, true)),
      "BAD_HEADER",
    ],
    [
      "count below the records",
      edited(parts, (_, v) => v.setUint16(32, 2, true)),
      "BAD_HEADER",
    ],
    [
      "count above maxHints",
      edited(parts, (_, v) => v.setUint16(32, 257, true)),
      "TOO_LARGE",
    ],
    [
      "a byte after the last hint",
      [new Uint8Array([...parts[0], 0]), parts[1]],
      "BAD_HEADER",
    ],
    [
      "half a hint cut off",
      [parts[0].subarray(0, hint0 + 36), parts[1]],
      "BAD_HEADER",
    ],
    ["request flag bit 1", edited(parts, (h) => h[34] = 2), "BAD_HEADER"],
    ["request flag bit 15", edited(parts, (h) => h[35] = 0x80), "BAD_HEADER"],
    ["unknown flag bit", edited(parts, (h) => h[hint0 + 20] = 3), "BAD_HEADER"],
    ["flag bit 7", edited(parts, (h) => h[hint0 + 20] = 0x80), "BAD_HEADER"],
    ["hint reserved 21", edited(parts, (h) => h[hint0 + 21] = 1), "BAD_HEADER"],
    ["hint reserved 23", edited(parts, (h) => h[hint0 + 23] = 1), "BAD_HEADER"],
    [
      "track id 0",
      edited(parts, (_, v) => v.setUint32(hint0, 0, true)),
      "BAD_HEADER",
    ],
    [
      "repeated track id",
      edited(parts, (_, v) => v.setUint32(hint0 + 24, 1, true)),
      "BAD_HEADER",
    ],
    [
      "negative width",
      edited(parts, (_, v) => v.setInt32(hint0 + 12, -1, true)),
      "BAD_HEADER",
    ],
    [
      "negative height",
      edited(parts, (_, v) => v.setInt32(hint0 + 16, -100, true)),
      "BAD_HEADER",
    ],
    ["three parts", [...parts, new Uint8Array(0)], "BAD_PARTS"],
    ["version 3", edited(parts, (h) => h[4] = 3), "BAD_VERSION"],
    // The version 1 checks still come after the hints.
    ["pixel format 9", edited(parts, (h) => h[6] = 9), "BAD_FORMAT"],
    [
      "byte count",
      edited(parts, (_, v) => v.setUint32(20, 11, true)),
      "BAD_SIZE",
    ],
  ];
  for (const [what, message, code] of cases) {
    assert.throws(() => decodeRequest(message), (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `${what}: ${error}`);
      assert.equal(error.code, code, `${what}: ${error.message}`);
      return true;
    });
  }
  // Negative x and y are fine (a track leaving the frame).
  const moved = edited(parts, (_, v) => {
    v.setInt32(hint0 + 4, -500, true);
    v.setInt32(hint0 + 8, -1, true);
  });
  assert.equal(decodeFrameRequest(moved).hints?.[0].x, -500);
  // maxHints is a limit like the others.
  assertCode(() => decodeRequest(parts, { maxHints: 2 }), "TOO_LARGE");
  assert.equal(decodeRequest(parts, { maxHints: 3 }).kind, "frame");
});

Deno.test("tracks only: bit 0 of the request flags, round-trips, absent means a full detection", () => {
  const full = encodeRequest(request);
  assert.equal(new DataView(full[0].buffer).getUint16(34, true), 0);
  assert.ok(!("tracksOnly" in decodeFrameRequest(full)));
  assert.deepEqual(encodeRequest({ ...request, tracksOnly: false }), full);
  const near = encodeRequest({ ...request, tracksOnly: true });
  assert.equal(near[0].length, full[0].length);
  assert.deepEqual(near[0].subarray(0, 34), full[0].subarray(0, 34));
  assert.deepEqual([...near[0].subarray(34, 36)], [1, 0]);
  assert.deepEqual(near[0].subarray(36), full[0].subarray(36));
  const decoded = decodeRequest(near);
  assert.deepEqual(decoded, { ...request, tracksOnly: true });
  assert.deepEqual(encodeRequest(decoded as FrameRequest), near);
  // Setting the bit on an encoded request means the same.
  assert.deepEqual(
    decodeRequest(edited(full, (h) => h[34] = 1)),
    { ...request, tracksOnly: true },
  );
  // Nothing to look around: refused both ways.
  const { hints: _, ...bare } = request;
  assertCode(
    () => encodeRequest({ ...bare, tracksOnly: true }),
    "BAD_HEADER",
  );
  const empty = encodeRequest(bare);
  assertCode(
    () => decodeRequest(edited(empty, (h) => h[34] = 1)),
    "BAD_HEADER",
  );
  // Version 1 has no flags.
  const { version: _v, hints: _h, ...v1 } = request;
  assertCode(() => encodeRequest({ ...v1, tracksOnly: false }), "BAD_HEADER");
  assertCode(
    () =>
      encodeRequest({
        ...request,
        tracksOnly: "yes" as unknown as boolean,
      }),
    "BAD_HEADER",
  );
});

Deno.test("encodeRequest refuses hints that would not fit or mean nothing", () => {
  const cases: [Partial<FrameRequest>, string][] = [
    [{ version: 1 }, "BAD_HEADER"],
    [{ version: undefined }, "BAD_HEADER"],
    [{ version: 3 as 2 }, "BAD_VERSION"],
    [{ hints: [{ ...hints[0], track: 0 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], track: 2 ** 32 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], track: 1.5 }] }, "BAD_HEADER"],
    [{ hints: [hints[0], { ...hints[1], track: 1 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], w: -1 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], x: 2 ** 31 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], y: 0.5 }] }, "BAD_HEADER"],
    [{ hints: [{ ...hints[0], skip: 1 as unknown as boolean }] }, "BAD_HEADER"],
    [
      {
        hints: Array.from(
          { length: DEFAULT_LIMITS.maxHints + 1 },
          (_, i) => ({ ...hints[0], track: i + 1 }),
        ),
      },
      "TOO_LARGE",
    ],
  ];
  for (const [change, code] of cases) {
    assertCode(() => encodeRequest({ ...request, ...change }), code as never);
  }
  const most = Array.from(
    { length: DEFAULT_LIMITS.maxHints },
    (_, i) => ({ ...hints[0], track: i + 1 }),
  );
  const parts = encodeRequest({ ...request, hints: most });
  assert.equal(decodeFrameRequest(parts).hints?.length, most.length);
});

Deno.test("version 2 reply validation: threshold, flags, labels, distances", () => {
  const parts = encodeReply(reply);
  // Face 0 starts at 96 with label "s1"; face 1 (not recognised) after it.
  const face0 = REPLY_V2_HEADER_BYTES;
  const face1 = face0 + 32 + 2;
  const cases: [string, Uint8Array[], string][] = [
    [
      "cut inside the threshold",
      [parts[0].subarray(0, 95), parts[1]],
      "BAD_HEADER",
    ],
    [
      "threshold NaN",
      edited(parts, (_, v) => v.setFloat64(88, NaN, true)),
      "BAD_HEADER",
    ],
    [
      "threshold negative",
      edited(parts, (_, v) => v.setFloat64(88, -1, true)),
      "BAD_HEADER",
    ],
    [
      "unknown face flag",
      edited(parts, (h) => h[face0 + 28] = 3),
      "BAD_HEADER",
    ],
    [
      "face reserved byte",
      edited(parts, (h) => h[face0 + 29] = 1),
      "BAD_HEADER",
    ],
    [
      "recognised with NaN distance",
      edited(parts, (_, v) => v.setFloat64(face0 + 16, NaN, true)),
      "BAD_HEADER",
    ],
    [
      "skipped with a distance",
      edited(parts, (_, v) => v.setFloat64(face1 + 16, 0, true)),
      "BAD_HEADER",
    ],
    [
      "recognised without a label",
      edited(parts, (h) => h[face1 + 28] = 1),
      "BAD_HEADER",
    ],
    [
      "skipped with a label",
      edited(parts, (h) => h[face0 + 28] = 0),
      "BAD_HEADER",
    ],
    [
      "more faces than bytes",
      edited(parts, (_, v) => v.setUint32(12, 5, true)),
      "BAD_HEADER",
    ],
    [
      "fewer faces than bytes",
      edited(parts, (_, v) => v.setUint32(12, 3, true)),
      "BAD_HEADER",
    ],
    ["reserved u32 at 84", edited(parts, (h) => h[84] = 1), "BAD_HEADER"],
    [
      "negative width",
      edited(parts, (_, v) => v.setInt32(face1 + 8, -1, true)),
      "BAD_HEADER",
    ],
  ];
  for (const [what, message, code] of cases) {
    assert.throws(() => decodeReply(message), (error: unknown) => {
      assert.ok(error instanceof ProtocolError, `${what}: ${error}`);
      assert.equal(error.code, code, `${what}: ${error.message}`);
      return true;
    });
  }
  // A version 1 reply is 88 bytes before the faces; as version 2 it is cut.
  const v1 = encodeReply({ ...sampleReply, faces: [] });
  assertCode(
    () => decodeReply(edited(v1, (h) => h[4] = 2)),
    "BAD_HEADER",
  );
});

Deno.test("encodeReply refuses version 2 faces that would not fit or contradict", () => {
  const skipped = reply.faces[1];
  const cases: [Partial<FrameReply>, string][] = [
    [{ threshold: undefined }, "BAD_HEADER"],
    [{ threshold: NaN }, "BAD_HEADER"],
    [{ threshold: -0.5 }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, label: "s1" }] }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, distance: 3 }] }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, recognised: true }] }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, track: -1 }] }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, track: 2 ** 32 }] }, "BAD_HEADER"],
    [{ faces: [{ ...skipped, w: -2 }] }, "BAD_HEADER"],
    [{ version: 5 as 2 }, "BAD_VERSION"],
  ];
  for (const [change, code] of cases) {
    assertCode(() => encodeReply({ ...reply, ...change }), code as never);
  }
});

// ------------------------------------------------------------------ fuzz

Deno.test("fuzz: mutated version 2 requests decode to what re-encodes alike, or throw ProtocolError", () => {
  const random = mulberry32(20240612);
  const base = encodeRequest(request);
  let decoded = 0;
  const codes = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const header = base[0].slice();
    const flips = 1 + Math.floor(random() * 3);
    for (let f = 0; f < flips; f++) {
      // Mostly the hints block: that is what version 2 adds.
      const at = random() < 0.8
        ? 32 + Math.floor(random() * (header.length - 32))
        : Math.floor(random() * header.length);
      header[at] = random() < 0.5 ? Math.floor(random() * 256) : header[at] ^ 1;
    }
    const cut = random() < 0.15
      ? header.subarray(0, Math.floor(random() * header.length))
      : header;
    try {
      const result = decodeRequest([cut, base[1]]);
      decoded++;
      assert.equal(result.kind, "frame");
      if (result.kind !== "frame") continue;
      assert.ok((result.hints?.length ?? 0) <= DEFAULT_LIMITS.maxHints);
      assert.deepEqual(encodeRequest(result)[0], cut, `mutation ${i}`);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof ProtocolError, `mutation ${i}: ${error}`);
      assert.ok(Object.hasOwn(ERROR_CODES, error.code));
      codes.add(error.code);
    }
  }
  assert.ok(decoded > 100, `only ${decoded} decoded`);
  assert.ok(
    codes.has("BAD_HEADER") && codes.has("TOO_LARGE"),
    [...codes].join(),
  );
});

Deno.test("fuzz: mutated version 2 replies decode or throw ProtocolError", () => {
  const random = mulberry32(20240613);
  const base = encodeReply(reply);
  let decoded = 0;
  for (let i = 0; i < 3000; i++) {
    const header = base[0].slice();
    const flips = 1 + Math.floor(random() * 3);
    for (let f = 0; f < flips; f++) {
      const at = random() < 0.7
        ? 84 + Math.floor(random() * (header.length - 84))
        : Math.floor(random() * header.length);
      header[at] = Math.floor(random() * 256);
    }
    try {
      const result = decodeReply([header, base[1]]);
      decoded++;
      if (result.kind !== "reply") continue;
      for (const face of result.faces) {
        assert.equal(Number.isNaN(face.distance), face.recognised === false);
        assert.equal(face.label === "", face.recognised === false);
      }
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(error instanceof ProtocolError, `mutation ${i}: ${error}`);
    }
  }
  assert.ok(decoded > 0);
});
