import assert from "node:assert/strict";
import { encodeError } from "../../lib/protocol/binary.ts";
import { decodeRequest } from "../../lib/protocol/dispatch.ts";
import {
  checkEnrolName,
  decodeEnrolReply,
  decodeEnrolRequest,
  encodeEnrolReply,
  encodeEnrolRequest,
  type EnrolReply,
  type EnrolRequest,
  isEnrolRequest,
  MAX_ENROL_FACES,
} from "../../lib/protocol/enrol.ts";
import {
  ERROR_CODES,
  type ErrorCode,
  ProtocolError,
} from "../../lib/protocol/errors.ts";
import { mulberry32 } from "../support/fuzz_messages.ts";
import { assertCode, fromHex, hex, makeJpeg, utf8 } from "./_helpers.ts";

/** SOI and a SOF0 of a 16x16 grey JPEG: all the decoder reads. */
const JPEG_START = fromHex("ff d8 ff c0 00 0b 08 00 10 00 10 01 01 11 00");

/** docs/protocol.md's worked example, byte for byte. */
const EXAMPLE_REQUEST = fromHex(`
  46 5a 4d 51 01 04 01 00  07 00 00 00  0f 00 00 00  04 00 00 00
  5a 6f c3 ab
  04 00 00 00 02 00 00 00  08 00 00 00 0a 00 00 00  0f 00 00 00`);
const EXAMPLE_REPLY = fromHex(`
  46 5a 4d 51 01 05 01 01  07 00 00 00  04 00 00 00  01 00 00 00
  05 00 00 00  04 00 00 00  5a 6f c3 ab`);

const JPEGS = [makeJpeg(24, 20), makeJpeg(8, 8), makeJpeg(13, 9)].map((j) =>
  new Uint8Array(j)
);

function sampleRequest(): EnrolRequest {
  return {
    kind: "enrol",
    requestId: 0xfffffffe,
    name: "Zoë 山田",
    faces: [
      {
        jpeg: JPEGS[0],
        box: { x: 2, y: 3, w: 20, h: 16 },
      },
      { jpeg: JPEGS[1], box: { x: 0, y: 0, w: 8, h: 8 } },
      {
        jpeg: JPEGS[2],
        box: { x: 12, y: 8, w: 1, h: 1 },
      },
    ],
  };
}

const sampleReply: EnrolReply = {
  kind: "enrolled",
  requestId: 42,
  name: "s5",
  label: 4,
  added: 9,
  faces: 19,
  people: 5,
  newPerson: false,
};

Deno.test("enrol request: the worked example of docs/protocol.md", () => {
  const parts = encodeEnrolRequest({
    kind: "enrol",
    requestId: 7,
    name: "Zoë",
    faces: [{ jpeg: JPEG_START, box: { x: 4, y: 2, w: 8, h: 10 } }],
  });
  assert.equal(hex(parts[0]), hex(EXAMPLE_REQUEST));
  assert.equal(hex(parts[1]), hex(JPEG_START));
  const decoded = decodeEnrolRequest([EXAMPLE_REQUEST, JPEG_START]);
  assert.equal(decoded.name, "Zoë");
  assert.equal(decoded.requestId, 7);
  assert.deepEqual(decoded.faces[0].box, { x: 4, y: 2, w: 8, h: 10 });
  assert.equal(
    hex(
      encodeEnrolReply({
        kind: "enrolled",
        requestId: 7,
        name: "Zoë",
        label: 4,
        added: 1,
        faces: 1,
        people: 5,
        newPerson: true,
      })[0],
    ),
    hex(EXAMPLE_REPLY),
  );
});

Deno.test("enrol request and reply round-trip; the JPEGs are views of part 1", () => {
  const request = sampleRequest();
  const parts = encodeEnrolRequest(request);
  assert.ok(isEnrolRequest(parts));
  const decoded = decodeEnrolRequest(parts);
  assert.equal(decoded.name, request.name);
  assert.equal(decoded.requestId, request.requestId);
  assert.equal(decoded.faces.length, 3);
  decoded.faces.forEach((face, i) => {
    assert.deepEqual(face.box, request.faces[i].box);
    assert.deepEqual([...face.jpeg], [...request.faces[i].jpeg]);
    assert.equal(face.jpeg.buffer, parts[1].buffer);
  });
  assert.deepEqual(
    decodeEnrolReply(encodeEnrolReply(sampleReply)),
    sampleReply,
  );
  const error = encodeError("ENROL_REFUSED", "no");
  assert.deepEqual(decodeEnrolReply(error), {
    kind: "error",
    code: "ENROL_REFUSED",
    message: "no",
  });
  assert.equal(ERROR_CODES.ENROL_REFUSED, 15);
  assert.equal(ERROR_CODES.BAD_ENROL, 16);
});

Deno.test("enrol names: the rules of docs/protocol.md", () => {
  for (
    const good of [
      "s5",
      "Zoë",
      "Anne-Marie O'Neil",
      "山田太郎",
      "a".repeat(64),
      "🙂".repeat(64),
      "x.y",
      "a_b",
    ]
  ) {
    checkEnrolName(good);
  }
  for (
    const bad of [
      "",
      "a".repeat(65),
      "a/b",
      "..",
      "../etc",
      "a\\b",
      ".hidden",
      "_private",
      "unknown",
      "Unknown",
      "tab\there",
      "new\nline",
      " padded",
      "padded ",
      "nul\0",
    ]
  ) {
    assert.throws(
      () => checkEnrolName(bad),
      (e: unknown) => e instanceof ProtocolError && e.code === "BAD_ENROL",
      JSON.stringify(bad),
    );
    // Neither side lets it through.
    const request = { ...sampleRequest(), name: bad };
    assertCode(() => encodeEnrolRequest(request), "BAD_ENROL");
  }
});

/** The sample request's parts, edited by `edit` (header view, header, part 1). */
function edited(
  edit: (view: DataView, header: Uint8Array) => void,
): Uint8Array[] {
  const [header, jpegs] = encodeEnrolRequest(sampleRequest());
  edit(new DataView(header.buffer), header);
  return [header, jpegs];
}

Deno.test("enrol request: each validation rule gives its code", () => {
  const nameBytes = utf8.encode(sampleRequest().name).length;
  const record = (i: number) => 20 + nameBytes + 20 * i;
  const cases: [string, Uint8Array[], ErrorCode][] = [
    ["no parts", [], "BAD_PARTS"],
    ["bad magic", edited((_, h) => h[0] = 0x47), "BAD_MAGIC"],
    ["version 9", edited((_, h) => h[4] = 9), "BAD_VERSION"],
    ["short", [
      new Uint8Array([0x46, 0x5a, 0x4d, 0x51, 1, 4]),
      new Uint8Array(),
    ], "BAD_HEADER"],
    [
      "three parts",
      [...encodeEnrolRequest(sampleRequest()), new Uint8Array()],
      "BAD_PARTS",
    ],
    ["reserved", edited((_, h) => h[7] = 1), "BAD_HEADER"],
    ["reserved16", edited((v) => v.setUint16(18, 1, true)), "BAD_HEADER"],
    ["no faces", edited((_, h) => h[6] = 0), "BAD_ENROL"],
    [
      "too many faces",
      edited((_, h) => h[6] = MAX_ENROL_FACES + 1),
      "TOO_LARGE",
    ],
    ["face count vs length", edited((_, h) => h[6] = 2), "BAD_HEADER"],
    ["name length 0", edited((v) => v.setUint16(16, 0, true)), "BAD_HEADER"],
    [
      "name length off",
      edited((v) => v.setUint16(16, nameBytes + 1, true)),
      "BAD_HEADER",
    ],
    ["name not UTF-8", edited((_, h) => h[20] = 0xff), "BAD_HEADER"],
    ["name with a slash", edited((_, h) => h[20] = 0x2f), "BAD_ENROL"],
    ["JPEG bytes field", edited((v) => v.setUint32(12, 1, true)), "BAD_SIZE"],
    [
      "JPEG lengths",
      edited((v) => v.setUint32(record(0) + 16, 5, true)),
      "BAD_SIZE",
    ],
    [
      "box outside",
      edited((v) => v.setUint32(record(0), 5, true)),
      "BAD_ENROL",
    ],
    [
      "empty box",
      edited((v) => v.setUint32(record(1) + 8, 0, true)),
      "BAD_ENROL",
    ],
    [
      "huge box",
      edited((v) => v.setUint32(record(1) + 12, 0xffffffff, true)),
      "BAD_ENROL",
    ],
  ];
  for (const [what, parts, code] of cases) {
    assert.throws(
      () => decodeEnrolRequest(parts),
      (e: unknown) =>
        e instanceof ProtocolError && e.code === code && e.message.length > 0,
      what,
    );
  }
  // A face whose bytes are not a JPEG, and one above the limits.
  const notJpeg = sampleRequest();
  const parts = encodeEnrolRequest(notJpeg);
  parts[1][0] = 0;
  assertCode(() => decodeEnrolRequest(parts), "CORRUPT_JPEG");
  assertCode(
    () =>
      decodeEnrolRequest(encodeEnrolRequest(sampleRequest()), { maxWidth: 16 }),
    "BAD_DIMENSIONS",
  );
  assertCode(
    () =>
      decodeEnrolRequest(encodeEnrolRequest(sampleRequest()), {
        maxJpegBytes: 10,
      }),
    "TOO_LARGE",
  );
  // The frame decoder refuses an enrol request, as it did before it existed.
  assertCode(
    () => decodeRequest(encodeEnrolRequest(sampleRequest())),
    "BAD_TYPE",
  );
});

Deno.test("enrol reply: malformed replies are refused", () => {
  const base = encodeEnrolReply(sampleReply);
  const variants: [string, (h: Uint8Array) => void, ErrorCode][] = [
    ["type", (h) => h[5] = 2, "BAD_TYPE"],
    ["flags", (h) => h[7] = 2, "BAD_HEADER"],
    ["added 0", (h) => h[6] = 0, "BAD_HEADER"],
    ["name length", (h) => h[24] = 9, "BAD_HEADER"],
  ];
  for (const [what, edit, code] of variants) {
    const header = base[0].slice();
    edit(header);
    assert.throws(
      () => decodeEnrolReply([header, new Uint8Array()]),
      (e: unknown) => e instanceof ProtocolError && e.code === code,
      what,
    );
  }
  assertCode(() => decodeEnrolReply([base[0], new Uint8Array(1)]), "BAD_SIZE");
  assertCode(
    () => encodeEnrolReply({ ...sampleReply, added: 0 }),
    "BAD_HEADER",
  );
});

Deno.test("fuzz: enrol decoding returns a valid request or throws ProtocolError", () => {
  const random = mulberry32(20250611);
  const int = (n: number) => Math.floor(random() * n);
  const base = encodeEnrolRequest(sampleRequest());
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 3000; i++) {
    let header = base[0].slice();
    let jpegs = base[1].slice();
    switch (i % 6) {
      case 0: // flip bytes of the header
        for (let k = 1 + int(4); k > 0; k--) {
          header[int(header.length)] = int(256);
        }
        break;
      case 1: // interesting values in the fields
        new DataView(header.buffer).setUint32(
          4 * int(header.length / 4 - 1),
          [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff][int(6)],
          true,
        );
        break;
      case 2: // cut or extend either part
        if (random() < 0.5) header = header.slice(0, int(header.length + 1));
        else jpegs = jpegs.slice(0, int(jpegs.length + 1));
        break;
      case 3: // flip bytes of the JPEGs
        for (let k = 1 + int(8); k > 0; k--) {
          jpegs[int(jpegs.length)] = int(256);
        }
        break;
      case 4: { // random bytes after a valid prefix
        const tail = new Uint8Array(int(80));
        for (let k = 0; k < tail.length; k++) tail[k] = int(256);
        header = new Uint8Array([...header.subarray(0, 8), ...tail]);
        break;
      }
      case 5: // grow the header
        header = new Uint8Array([...header, ...new Uint8Array(1 + int(30))]);
        break;
    }
    let outcome = "ok";
    try {
      const request = decodeEnrolRequest([header, jpegs]);
      for (const face of request.faces) {
        assert.ok(face.box.w >= 1 && face.box.h >= 1);
      }
      checkEnrolName(request.name);
    } catch (error) {
      if (error instanceof assert.AssertionError) throw error;
      assert.ok(
        error instanceof ProtocolError,
        `message ${i}: threw ${(error as Error)?.stack ?? error}`,
      );
      outcome = error.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    // The reply decoder takes the same abuse.
    try {
      decodeEnrolReply([header, new Uint8Array()]);
    } catch (error) {
      assert.ok(error instanceof ProtocolError, `reply ${i}: ${error}`);
    }
  }
  // The fuzz reached past the header checks.
  assert.ok((outcomes.get("ok") ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok(outcomes.size >= 6, JSON.stringify([...outcomes]));
});
