/**
 * A seeded generator of hostile (and some valid) request messages for the
 * facezmq protocol, in both dialects. Used by `tests/protocol/protocol_fuzz_test.ts`
 * against `decodeRequest` and meant to be reused by a server fuzz test that
 * sends the same messages over real sockets.
 *
 * Every message is a multipart list of `Uint8Array` parts. Where the outcome
 * is certain under {@link DEFAULT_LIMITS}, `expect` says what a correct
 * decoder must do: `"ok"` (decode) or the error code it must throw.
 *
 * @module
 */

import jpeg from "jpeg-js";
import type { PixelFormat } from "../../lib/images/pixel_format.ts";
import {
  encodeError,
  encodeReply,
  encodeRequest,
  type FrameRequest,
} from "../../lib/protocol/binary.ts";
import { DEFAULT_LIMITS, type ErrorCode } from "../../lib/protocol/errors.ts";
import { REQUEST_HEADER_BYTES } from "../../lib/protocol/layout.ts";
import { encodeLegacyRequest } from "../../lib/protocol/legacy.ts";

/** A generated message and, when certain, its required outcome. */
export interface HostileMessage {
  /** Generator category, for reports (e.g. `"mutated-header"`). */
  kind: string;
  /** The multipart message. */
  parts: Uint8Array[];
  /** Required outcome under DEFAULT_LIMITS, when it is certain. */
  expect?: ErrorCode | "ok";
}

/** Random source: returns floats in [0, 1). */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast, seeded 32-bit PRNG (public domain, Tommy
 * Ettinger). Same seed, same sequence, on every platform.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return function next(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function int(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function randomBytes(random: Random, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.floor(random() * 256);
  return out;
}

const utf8 = new TextEncoder();

/** Field values that tend to break decoders. */
const INTERESTING = [
  0,
  1,
  2,
  3,
  4,
  5,
  127,
  128,
  255,
  256,
  4095,
  4096,
  4097,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
];

const FORMATS: PixelFormat[] = ["grey8", "rgb24", "bgr24", "jpeg"];

/** Widths and heights of the generated JPEGs. */
const JPEG_SIDES = [1, 8, 13, 16];

const jpegCache = new Map<string, Uint8Array>();

/** A real baseline JPEG of the given size (cached; made by jpeg-js). */
function smallJpeg(width: number, height: number): Uint8Array {
  const key = `${width}x${height}`;
  let bytes = jpegCache.get(key);
  if (bytes === undefined) {
    const rgba = new Uint8Array(width * height * 4);
    for (let i = 0; i < rgba.length; i++) rgba[i] = (i * 13) & 0xff;
    const encoded = jpeg.encode({ data: rgba, width, height }, 75).data;
    bytes = new Uint8Array(encoded);
    jpegCache.set(key, bytes);
  }
  return bytes;
}

/** A valid binary request with small random dimensions. */
function validRequest(random: Random): FrameRequest {
  const format = pick(random, FORMATS);
  // JPEG sizes come from a short list so that few JPEGs need encoding.
  const width = format === "jpeg"
    ? pick(random, JPEG_SIDES)
    : int(random, 1, 24);
  const height = format === "jpeg"
    ? pick(random, JPEG_SIDES)
    : int(random, 1, 24);
  const channels = format === "grey8" ? 1 : 3;
  const pixels = format === "jpeg"
    ? smallJpeg(width, height)
    : randomBytes(random, width * height * channels);
  const reply = random() < 0.5 ? "faces" : "faces+frame";
  const request: FrameRequest = {
    kind: "frame",
    format,
    width,
    height,
    frameId: int(random, 0, 0xffffffff),
    timestamp: (random() - 0.5) * 1e13,
    reply,
    pixels,
  };
  if (reply === "faces+frame") {
    request.frameFormat = random() < 0.5 ? "rgb24" : "jpeg";
  }
  return request;
}

/** A valid legacy request (BGR or grey) with small random dimensions. */
function validLegacy(random: Random): Uint8Array[] {
  const width = int(random, 1, 24);
  const height = int(random, 1, 24);
  const channels = random() < 0.8 ? 3 : 1;
  return encodeLegacyRequest(
    randomBytes(random, width * height * channels),
    { width, height, channels },
  );
}

/** A valid message of either dialect. */
function validMessage(random: Random): Uint8Array[] {
  return random() < 0.7
    ? encodeRequest(validRequest(random))
    : validLegacy(random);
}

/** A JSON value of a wrong type for `dtype` or a shape element. */
function wrongJsonValue(random: Random): unknown {
  return pick<unknown>(random, [
    null,
    true,
    false,
    0,
    -1,
    1.5,
    1e308,
    "",
    "uint8 ",
    "UINT8",
    "float32",
    "int8",
    "3",
    [],
    [3],
    {},
    { "0": 3 },
    "\u0000",
  ]);
}

function legacyWrongTypes(random: Random): Uint8Array[] {
  const h = int(random, 1, 8);
  const w = int(random, 1, 8);
  const header: Record<string, unknown> = {
    dtype: "uint8",
    shape: [h, w, 3],
  };
  switch (int(random, 0, 6)) {
    case 0:
      header.dtype = wrongJsonValue(random);
      break;
    case 1:
      header.shape = wrongJsonValue(random);
      break;
    case 2:
      (header.shape as unknown[])[int(random, 0, 2)] = wrongJsonValue(random);
      break;
    case 3:
      delete header[random() < 0.5 ? "dtype" : "shape"];
      break;
    case 4:
      header.shape = Array.from(
        { length: int(random, 0, 6) },
        () => pick(random, INTERESTING),
      );
      break;
    case 5:
      header.shape = [h, w, pick(random, [-3, 0, 2, 4, 255, 3.0000001])];
      break;
    default:
      header.shape = [
        pick(random, [-1, 0, 1e20, 2 ** 53, 4097]),
        w,
        3,
      ];
  }
  const bytes = h * w * 3;
  return [utf8.encode(JSON.stringify(header)), randomBytes(random, bytes)];
}

function hugeJson(random: Random): HostileMessage {
  const size = pick(random, [1025, 4096, 65536, 1 << 20]);
  let text: string;
  switch (int(random, 0, 3)) {
    case 0: // valid header padded with a long string
      text = `{"dtype": "uint8", "shape": [2, 2, 3], "pad": "${
        "x".repeat(size)
      }"}`;
      break;
    case 1: // deep nesting, would blow a recursive parser's stack
      text = `{"a": ${"[".repeat(size)}${"]".repeat(size)}}`;
      break;
    case 2: // unterminated
      text = `{"dtype": "${"u".repeat(size)}`;
      break;
    default: // many keys
      text = "{" +
        Array.from({ length: size / 8 }, (_, i) => `"k${i}": ${i}`).join(
          ",",
        ) + "}";
  }
  return {
    kind: "legacy-huge-json",
    parts: [utf8.encode(text), randomBytes(random, 12)],
    expect: "TOO_LARGE",
  };
}

/** Writes a u32 field of a copy of a request header. */
function withField(
  header: Uint8Array,
  offset: number,
  value: number,
  size: 1 | 4 | 8,
): Uint8Array {
  const copy = header.slice();
  const view = new DataView(copy.buffer);
  if (size === 1) copy[offset] = value & 0xff;
  else if (size === 4) view.setUint32(offset, value >>> 0, true);
  else view.setFloat64(offset, value, true);
  return copy;
}

const GENERATORS: ((random: Random) => HostileMessage)[] = [
  function valid(random) {
    return { kind: "valid", parts: validMessage(random), expect: "ok" };
  },
  function randomParts(random) {
    const count = int(random, 0, 4);
    const parts = Array.from(
      { length: count },
      () => randomBytes(random, int(random, 0, 300)),
    );
    if (count > 0 && random() < 0.5) {
      parts[0] = new Uint8Array([
        ...pick(random, [utf8.encode("FZMQ"), utf8.encode("{")]),
        ...parts[0],
      ]);
    }
    return { kind: "random-bytes", parts };
  },
  function emptyParts(random) {
    const count = int(random, 0, 5);
    const parts = Array.from({ length: count }, () => new Uint8Array(0));
    return {
      kind: "empty-parts",
      parts,
      expect: count === 0 ? "BAD_PARTS" : "BAD_MAGIC",
    };
  },
  function extraParts(random) {
    const parts = validMessage(random);
    const extra = int(random, 1, 3);
    for (let i = 0; i < extra; i++) {
      parts.push(randomBytes(random, int(random, 0, 16)));
    }
    return { kind: "extra-parts", parts, expect: "BAD_PARTS" };
  },
  function missingPart(random) {
    return {
      kind: "missing-part",
      parts: [validMessage(random)[0]],
      expect: "BAD_PARTS",
    };
  },
  function truncatedHeader(random) {
    const [header, pixels] = encodeRequest(validRequest(random));
    const length = int(random, 0, REQUEST_HEADER_BYTES - 1);
    let expect: ErrorCode = "BAD_HEADER";
    if (length < 4) expect = "BAD_MAGIC";
    return {
      kind: "truncated-header",
      parts: [header.slice(0, length), pixels],
      expect,
    };
  },
  function oversizedHeader(random) {
    const [header, pixels] = encodeRequest(validRequest(random));
    const longer = new Uint8Array([
      ...header,
      ...randomBytes(random, int(random, 1, 64)),
    ]);
    return {
      kind: "oversized-header",
      parts: [longer, pixels],
      expect: "BAD_HEADER",
    };
  },
  function mutatedHeader(random) {
    const [header, pixels] = encodeRequest(validRequest(random));
    const copy = header.slice();
    const flips = int(random, 1, 4);
    for (let i = 0; i < flips; i++) {
      copy[int(random, 0, copy.length - 1)] = Math.floor(random() * 256);
    }
    return { kind: "mutated-header", parts: [copy, pixels] };
  },
  function mutatedField(random) {
    const [header, pixels] = encodeRequest(validRequest(random));
    const fields: [number, 1 | 4 | 8][] = [
      [4, 1],
      [5, 1],
      [6, 1],
      [7, 1],
      [8, 4],
      [12, 4],
      [16, 4],
      [20, 4],
    ];
    if (random() < 0.15) {
      const value = pick(random, [NaN, Infinity, -Infinity, -0, 1e308]);
      return {
        kind: "mutated-field",
        parts: [withField(header, 24, value, 8), pixels],
      };
    }
    const [offset, size] = pick(random, fields);
    const value = pick(random, INTERESTING);
    return {
      kind: "mutated-field",
      parts: [withField(header, offset, value, size), pixels],
    };
  },
  function sizeMismatch(random) {
    const request = validRequest(random);
    const [header, pixels] = encodeRequest(request);
    let length = pixels.length;
    while (length === pixels.length) {
      length = random() < 0.5
        ? Math.max(0, pixels.length + int(random, -8, 8))
        : int(random, 0, 4 * pixels.length + 8);
    }
    const other = randomBytes(random, length);
    if (request.format !== "jpeg" && random() < 0.5) {
      // Header and part agree with each other, not with the dimensions.
      return {
        kind: "size-mismatch",
        parts: [withField(header, 20, length, 4), other],
        expect: "BAD_SIZE",
      };
    }
    return { kind: "size-mismatch", parts: [header, other] };
  },
  function absurdDimensions(random) {
    const [header, pixels] = encodeRequest(validRequest(random));
    const big = pick(random, [0, 4097, 0x10000, 0x7fffffff, 0xffffffff]);
    const offset = random() < 0.5 ? 8 : 12;
    return {
      kind: "absurd-dimensions",
      parts: [withField(header, offset, big, 4), pixels],
      expect: "BAD_DIMENSIONS",
    };
  },
  function corruptJpeg(random) {
    const request = validRequest(random);
    const width = pick(random, JPEG_SIDES);
    const height = pick(random, JPEG_SIDES);
    const real = smallJpeg(width, height);
    let pixels: Uint8Array;
    switch (int(random, 0, 3)) {
      case 0:
        pixels = real.slice(0, int(random, 0, real.length - 1));
        break;
      case 1:
        pixels = randomBytes(random, int(random, 1, 200));
        break;
      case 2: {
        pixels = real.slice();
        const flips = int(random, 1, 8);
        for (let i = 0; i < flips; i++) {
          pixels[int(random, 0, pixels.length - 1)] = Math.floor(
            random() * 256,
          );
        }
        break;
      }
      default: // a valid JPEG of another size than the header says
        pixels = smallJpeg(width === 16 ? 8 : 16, height);
    }
    const [header] = encodeRequest({
      ...request,
      width,
      height,
      format: "grey8",
      pixels: new Uint8Array(width * height),
    });
    const jpegHeader = withField(
      withField(header, 6, 4, 1),
      20,
      pixels.length,
      4,
    );
    return { kind: "corrupt-jpeg", parts: [jpegHeader, pixels] };
  },
  function legacyTypes(random) {
    return { kind: "legacy-wrong-types", parts: legacyWrongTypes(random) };
  },
  hugeJson,
  function legacySize(random) {
    const [header, pixels] = validLegacy(random);
    let length = pixels.length;
    while (length === pixels.length) length = int(random, 0, 2 * pixels.length);
    return {
      kind: "legacy-size-mismatch",
      parts: [header, randomBytes(random, length)],
      expect: "BAD_SIZE",
    };
  },
  function legacyGarbage(random) {
    const body = randomBytes(random, int(random, 0, 200));
    return {
      kind: "legacy-garbage",
      parts: [new Uint8Array([0x7b, ...body]), randomBytes(random, 12)],
    };
  },
  function replyAsRequest(random) {
    const parts = random() < 0.5 ? encodeError("BUSY", "x") : encodeReply({
      kind: "reply",
      frameId: 1,
      timestamp: 2,
      faces: [],
      timings: {
        decode: 0,
        detect: 0,
        recognise: 0,
        draw: 0,
        encode: 0,
        total: 0,
      },
    });
    return { kind: "reply-as-request", parts, expect: "BAD_TYPE" };
  },
  function oversizedJpeg(random) {
    // Rare: one part just over the JPEG cap (16 MiB + 1 by default).
    const [header] = encodeRequest(validRequest(random));
    const size = DEFAULT_LIMITS.maxJpegBytes + 1;
    const pixels = new Uint8Array(size);
    pixels.set([0xff, 0xd8, 0xff, 0xd9]);
    const jpegHeader = withField(withField(header, 6, 4, 1), 20, size, 4);
    return {
      kind: "oversized-jpeg",
      parts: [jpegHeader, pixels],
      expect: "TOO_LARGE",
    };
  },
];

/** How often each generator runs (same order as GENERATORS). */
const WEIGHTS = [
  8, // valid
  8, // random-bytes
  3, // empty-parts
  4, // extra-parts
  3, // missing-part
  6, // truncated-header
  4, // oversized-header
  12, // mutated-header
  12, // mutated-field
  8, // size-mismatch
  5, // absurd-dimensions
  8, // corrupt-jpeg
  10, // legacy-wrong-types
  2, // legacy-huge-json
  4, // legacy-size-mismatch
  4, // legacy-garbage
  3, // reply-as-request
  0.05, // oversized-jpeg (16 MiB each: rare)
];

/**
 * Yields `count` messages drawn from a seeded mix of hostile categories (and
 * about 8% valid messages). The same seed always yields the same messages.
 */
export function* hostileMessages(
  seed: number,
  count: number,
): Generator<HostileMessage> {
  const random = mulberry32(seed);
  const total = WEIGHTS.reduce((a, b) => a + b, 0);
  for (let i = 0; i < count; i++) {
    let roll = random() * total;
    let index = 0;
    while (index < WEIGHTS.length - 1 && roll >= WEIGHTS[index]) {
      roll -= WEIGHTS[index];
      index++;
    }
    yield GENERATORS[index](random);
  }
}
