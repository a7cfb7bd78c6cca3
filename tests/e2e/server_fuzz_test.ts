/**
 * The real server under hostile traffic over real sockets: every message
 * gets a reply in its own dialect (the error the protocol decoder names for
 * bad ones), good frames are still recognised after each batch, and a peer
 * that sends more than `--max-message-size` is dropped while others are
 * served.
 */

import assert from "node:assert/strict";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import { encodeJpeg } from "../../lib/images/image_io.ts";
import {
  decodeReply,
  encodeRequest,
  type Face,
  type FrameRequest,
} from "../../lib/protocol/binary.ts";
import { decodeRequest } from "../../lib/protocol/dispatch.ts";
import { isEnrolRequest } from "../../lib/protocol/enrol.ts";
import { type ErrorCode, ProtocolError } from "../../lib/protocol/errors.ts";
import {
  decodeLegacyReply,
  encodeLegacyRequest,
} from "../../lib/protocol/legacy.ts";
import { Context, type Socket } from "../../lib/zmq/zmq.ts";
import { TimeoutError } from "../../lib/zmq/errors.ts";
import { hostileMessages } from "../support/fuzz_messages.ts";
import {
  PROJECT_ROOT,
  type ServerProcess,
  stackLines,
  startServer,
} from "../support/processes.ts";

const SEED = 20240612;
const COUNT = 6000;
const BATCH = 500;
/** Generous: only catches a lost reply, never a slow one. */
const REPLY_TIMEOUT_MS = 15_000;
const MAX_MESSAGE_SIZE = 20 * 1024 * 1024;
const WIDTH = 640;
const HEIGHT = 480;
/** Frame 10 of the clip shows s2 (tests/fixtures/clip/clip_truth.json). */
const GOOD_FRAME = 10;

const utf8 = new TextEncoder();

/** Grey pixels of one frame of the fixture clip, decoded by ffmpeg. */
async function clipFrame(index: number): Promise<Uint8Array> {
  const ffmpeg = await findFfmpeg();
  const out = await new Deno.Command(ffmpeg, {
    args: [
      "-hide_banner",
      "-loglevel",
      "error",
      "-nostdin",
      "-i",
      `${PROJECT_ROOT}tests/fixtures/clip/clip.mp4`,
      "-vf",
      `select=eq(n\\,${index})`,
      "-frames:v",
      "1",
      "-f",
      "rawvideo",
      "-pix_fmt",
      "gray",
      "pipe:1",
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  assert.equal(out.stdout.length, WIDTH * HEIGHT);
  return out.stdout;
}

/**
 * A DEALER that tags each request with its own envelope frame, so a reply
 * can be matched to its request whichever worker answers (and a missing one
 * is noticed instead of wedging a REQ socket).
 */
class TaggedPeer {
  #socket: Socket;
  #next = 0;

  constructor(context: Context, endpoint: string) {
    this.#socket = context.socket("DEALER", { linger: 0 });
    this.#socket.connect(endpoint);
  }

  async send(parts: Uint8Array[]): Promise<Uint8Array> {
    const tag = utf8.encode(`t${this.#next++}`);
    await this.#socket.send([tag, new Uint8Array(0), ...parts], {
      timeout: REPLY_TIMEOUT_MS,
    });
    return tag;
  }

  /** The reply parts for `tag`, or null after `timeout` ms. */
  async reply(tag: Uint8Array, timeout: number): Promise<Uint8Array[] | null> {
    const deadline = Date.now() + timeout;
    while (true) {
      let parts: Uint8Array[];
      try {
        parts = await this.#socket.receive({
          timeout: Math.max(1, deadline - Date.now()),
        });
      } catch (error) {
        if (error instanceof TimeoutError) return null;
        throw error;
      }
      assert.ok(parts.length >= 2, "reply has an envelope");
      assert.equal(parts[1].length, 0, "envelope ends with an empty frame");
      if (sameBytes(parts[0], tag)) return parts.slice(2);
    }
  }

  async ask(parts: Uint8Array[]): Promise<Uint8Array[]> {
    const tag = await this.send(parts);
    const reply = await this.reply(tag, REPLY_TIMEOUT_MS);
    assert.ok(reply, `no reply within ${REPLY_TIMEOUT_MS} ms`);
    return reply;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** What the server must answer, by the project's own decoder. */
type Expected =
  | { kind: "ok"; request: ReturnType<typeof decodeRequest> }
  | { kind: "error"; code: ErrorCode; legacy: boolean };

function expectedFor(parts: Uint8Array[]): Expected {
  // These servers do not allow enrolment: any enrol request is refused.
  if (isEnrolRequest(parts)) {
    return { kind: "error", code: "ENROL_REFUSED", legacy: false };
  }
  try {
    return { kind: "ok", request: decodeRequest(parts) };
  } catch (error) {
    assert.ok(error instanceof ProtocolError, String(error));
    return { kind: "error", code: error.code, legacy: error.legacy };
  }
}

/** Checks the server's reply against what the decoder says about the request. */
function checkReply(
  parts: Uint8Array[],
  reply: Uint8Array[],
  context: string,
): string {
  const expected = expectedFor(parts);
  assert.equal(reply.length, 2, `${context}: a reply has two parts`);
  const legacyReply = reply[0][0] === 0x7b;
  const decoded = legacyReply ? decodeLegacyReply(reply) : decodeReply(reply);
  if (expected.kind === "error") {
    assert.equal(decoded.kind, "error", `${context}: must be refused`);
    if (decoded.kind !== "error") return "";
    assert.equal(decoded.code, expected.code, `${context}: ${decoded.message}`);
    assert.equal(legacyReply, expected.legacy, `${context}: dialect`);
    assert.ok(decoded.message.length > 0, `${context}: message`);
    return decoded.code;
  }
  const request = expected.request;
  assert.equal(legacyReply, request.kind === "legacy", `${context}: dialect`);
  if (decoded.kind === "error") {
    // Only a JPEG can pass the checks and still fail to decode.
    assert.ok(
      request.kind === "frame" && request.format === "jpeg" &&
        decoded.code === "CORRUPT_JPEG",
      `${context}: valid request refused: ${decoded.code}: ${decoded.message}`,
    );
    return decoded.code;
  }
  if (request.kind === "legacy") {
    assert.equal(decoded.kind, "legacy-reply", context);
    if (decoded.kind !== "legacy-reply") return "";
    assert.equal(decoded.width, request.width, context);
    assert.equal(decoded.height, request.height, context);
    assert.equal(decoded.channels, 3, context);
    return "ok";
  }
  assert.equal(decoded.kind, "reply", context);
  if (decoded.kind !== "reply") return "";
  assert.equal(decoded.frameId, request.frameId, `${context}: frame id echo`);
  assert.ok(
    Object.is(decoded.timestamp, request.timestamp),
    `${context}: timestamp echo`,
  );
  if (request.reply === "faces+frame") {
    assert.ok(decoded.frame, `${context}: frame asked for`);
    assert.equal(decoded.frame.format, request.frameFormat, context);
    assert.equal(decoded.frame.width, request.width, context);
    assert.equal(decoded.frame.height, request.height, context);
  } else {
    assert.equal(decoded.frame, undefined, `${context}: no frame asked for`);
  }
  return "ok";
}

function goodRequest(pixels: Uint8Array, frameId: number): Uint8Array[] {
  return encodeRequest({
    kind: "frame",
    format: "grey8",
    width: WIDTH,
    height: HEIGHT,
    frameId,
    timestamp: 1000 + frameId,
    reply: "faces",
    pixels,
  });
}

function facesOf(reply: Uint8Array[], frameId: number): Face[] {
  const decoded = decodeReply(reply);
  assert.equal(decoded.kind, "reply", JSON.stringify(decoded));
  if (decoded.kind !== "reply") return [];
  assert.equal(decoded.frameId, frameId);
  return decoded.faces;
}

/** Starts a server, runs `body`, then checks it still stops cleanly. */
async function withServer(
  args: string[],
  body: (server: ServerProcess, context: Context) => Promise<void>,
): Promise<void> {
  const server = await startServer(["--stats", "0", ...args]);
  const context = new Context();
  let stopped = false;
  try {
    await body(server, context);
    await context.close();
    const { code } = await server.stop("SIGINT");
    stopped = true;
    assert.equal(code, 0, server.output());
    assert.deepEqual(stackLines(server.output()), [], server.output());
  } finally {
    if (!context.closed) await context.close();
    if (!stopped) await server.stop("SIGKILL");
  }
}

Deno.test("server fuzz: every hostile message gets the right reply and good frames still work", async () => {
  const pixels = await clipFrame(GOOD_FRAME);
  await withServer(
    ["--workers", "2", "--max-message-size", String(MAX_MESSAGE_SIZE)],
    async (_server, context) => {
      const peer = new TaggedPeer(context, _server.endpoint);
      const reference = facesOf(await peer.ask(goodRequest(pixels, 0)), 0);
      // The clip's truth: s2 at x 102, y 144, 157x191 in this frame.
      const s2 = reference.filter((f) =>
        f.label === "s2" && Math.abs(f.x + f.w / 2 - 180) < 40 &&
        Math.abs(f.y + f.h / 2 - 240) < 40
      );
      assert.equal(s2.length, 1, JSON.stringify(reference));

      const outcomes = new Map<string, number>();
      const kinds = new Map<string, number>();
      let sent = 0;
      let skipped = 0;
      for (const message of hostileMessages(SEED, COUNT)) {
        if (message.parts.length === 0) {
          skipped++; // ZeroMQ cannot carry a message without parts
          continue;
        }
        const context = `message ${sent} (${message.kind})`;
        const reply = await peer.ask(message.parts);
        const outcome = checkReply(message.parts, reply, context);
        if (message.expect !== undefined) {
          assert.equal(outcome, message.expect, context);
        }
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        kinds.set(message.kind, (kinds.get(message.kind) ?? 0) + 1);
        sent++;
        if (sent % BATCH === 0) {
          const id = 1_000_000 + sent;
          const faces = facesOf(await peer.ask(goodRequest(pixels, id)), id);
          assert.deepEqual(faces, reference, `good frame after ${sent}`);
        }
      }
      assert.ok(sent >= 2000, `sent ${sent}`);
      assert.ok(skipped < COUNT / 20);
      // The mix must exercise both answers and many refusals.
      assert.ok((outcomes.get("ok") ?? 0) > 50, JSON.stringify([...outcomes]));
      assert.ok(outcomes.size >= 10, JSON.stringify([...outcomes]));
      console.log(
        `outcomes of ${sent} messages:`,
        Object.fromEntries(outcomes),
        "by generator:",
        Object.fromEntries(kinds),
      );
      assert.ok(
        (kinds.get("oversized-jpeg") ?? 0) > 0,
        "a 16 MiB JPEG was sent",
      );
    },
  );
});

/** A real JPEG of `width`x`height` made by the project's encoder. */
function jpegOf(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
  return encodeJpeg({ width, height, channels: 3, data }, { quality: 80 });
}

function request(overrides: Partial<FrameRequest>): Uint8Array[] {
  return encodeRequest({
    kind: "frame",
    format: "grey8",
    width: 8,
    height: 6,
    frameId: 5,
    timestamp: 1,
    reply: "faces",
    pixels: new Uint8Array(48),
    ...overrides,
  });
}

function withU32(header: Uint8Array, offset: number, value: number) {
  const copy = header.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

function legacy(json: string, bytes: number): Uint8Array[] {
  return [utf8.encode(json), new Uint8Array(bytes)];
}

Deno.test("server answers each kind of malformed request with its error code", async () => {
  const [header, pixels] = request({});
  const jpeg = jpegOf(16, 8);
  const [jpegHeader] = request({
    format: "jpeg",
    width: 16,
    height: 8,
    pixels: jpeg,
  });
  // Everything up to the start-of-scan marker: sizes readable, no image.
  const sos = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xda);
  assert.ok(sos > 0);
  const cut = jpeg.slice(0, sos);
  const nanTime = header.slice();
  new DataView(nanTime.buffer).setFloat64(24, NaN, true);
  const cases: [string, Uint8Array[], ErrorCode | "ok", boolean][] = [
    ["valid grey", [header, pixels], "ok", false],
    ["one empty part", [new Uint8Array(0)], "BAD_MAGIC", false],
    [
      "three empty parts",
      [0, 0, 0].map(() => new Uint8Array(0)),
      "BAD_MAGIC",
      false,
    ],
    ["header only", [header], "BAD_PARTS", false],
    ["extra part", [header, pixels, new Uint8Array(3)], "BAD_PARTS", false],
    [
      "extra empty part",
      [header, pixels, new Uint8Array(0)],
      "BAD_PARTS",
      false,
    ],
    ["header cut to 3 bytes", [header.slice(0, 3), pixels], "BAD_MAGIC", false],
    [
      "header cut to 20 bytes",
      [header.slice(0, 20), pixels],
      "BAD_HEADER",
      false,
    ],
    [
      "header 1 byte long",
      [new Uint8Array([...header, 0]), pixels],
      "BAD_HEADER",
      false,
    ],
    [
      "header 64 KiB long",
      [new Uint8Array(65536).fill(0x46), pixels],
      "BAD_MAGIC",
      false,
    ],
    [
      // Version 2 (track hints) exists: its 32-byte header is too short.
      "version 3",
      [header.map((b, i) => i === 4 ? 3 : b), pixels],
      "BAD_VERSION",
      false,
    ],
    [
      "a reply sent as request",
      [header.map((b, i) => i === 5 ? 2 : b), pixels],
      "BAD_TYPE",
      false,
    ],
    [
      "pixel format 9",
      [header.map((b, i) => i === 6 ? 9 : b), pixels],
      "BAD_FORMAT",
      false,
    ],
    [
      "reply mode 7",
      [header.map((b, i) => i === 7 ? 7 : b), pixels],
      "BAD_HEADER",
      false,
    ],
    ["NaN timestamp", [nanTime, pixels], "BAD_HEADER", false],
    [
      "byte count says 47",
      [withU32(header, 20, 47), pixels],
      "BAD_SIZE",
      false,
    ],
    [
      "part 1 one byte short",
      [withU32(header, 20, 47), pixels.slice(1)],
      "BAD_SIZE",
      false,
    ],
    [
      "rgb24 size of grey pixels",
      [header.map((b, i) => i === 6 ? 2 : b), pixels],
      "BAD_SIZE",
      false,
    ],
    ["width 0", [withU32(header, 8, 0), pixels], "BAD_DIMENSIONS", false],
    [
      "height 4097",
      [withU32(header, 12, 4097), pixels],
      "BAD_DIMENSIONS",
      false,
    ],
    [
      "width 2^32-1",
      [withU32(header, 8, 0xffffffff), pixels],
      "BAD_DIMENSIONS",
      false,
    ],
    [
      "4096x4096 claimed, 48 bytes sent",
      [withU32(withU32(header, 8, 4096), 12, 4096), pixels],
      "BAD_SIZE",
      false,
    ],
    ["valid JPEG", [jpegHeader, jpeg], "ok", false],
    [
      "empty JPEG",
      [withU32(jpegHeader, 20, 0), new Uint8Array(0)],
      "BAD_PIXELS",
      false,
    ],
    [
      "JPEG of another size",
      [withU32(jpegHeader, 8, 8), jpeg],
      "BAD_DIMENSIONS",
      false,
    ],
    [
      "not a JPEG",
      [withU32(jpegHeader, 20, 48), new Uint8Array(48).fill(7)],
      "CORRUPT_JPEG",
      false,
    ],
    [
      "JPEG cut before its scan",
      [withU32(jpegHeader, 20, cut.length), cut],
      "CORRUPT_JPEG",
      false,
    ],
    [
      "legacy valid BGR",
      legacy('{"dtype": "uint8", "shape": [6, 8, 3]}', 144),
      "ok",
      true,
    ],
    ["legacy not JSON", legacy('{"dtype": uint8', 144), "BAD_JSON", true],
    [
      "legacy dtype a number",
      legacy('{"dtype": 8, "shape": [6, 8, 3]}', 144),
      "BAD_HEADER",
      true,
    ],
    [
      "legacy dtype float32",
      legacy('{"dtype": "float32", "shape": [6, 8, 3]}', 144),
      "BAD_FORMAT",
      true,
    ],
    [
      "legacy shape a string",
      legacy('{"dtype": "uint8", "shape": "6,8,3"}', 144),
      "BAD_HEADER",
      true,
    ],
    [
      "legacy shape of floats",
      legacy('{"dtype": "uint8", "shape": [6.5, 8, 3]}', 144),
      "BAD_HEADER",
      true,
    ],
    [
      "legacy 4 channels",
      legacy('{"dtype": "uint8", "shape": [6, 8, 4]}', 192),
      "BAD_FORMAT",
      true,
    ],
    [
      "legacy shape null",
      legacy('{"dtype": "uint8", "shape": null}', 144),
      "BAD_HEADER",
      true,
    ],
    [
      "legacy no dtype",
      legacy('{"shape": [6, 8, 3]}', 144),
      "BAD_HEADER",
      true,
    ],
    [
      "legacy height 0",
      legacy('{"dtype": "uint8", "shape": [0, 8, 3]}', 0),
      "BAD_DIMENSIONS",
      true,
    ],
    [
      "legacy size disagrees",
      legacy('{"dtype": "uint8", "shape": [6, 8, 3]}', 143),
      "BAD_SIZE",
      true,
    ],
    [
      "legacy JSON over 1 KiB",
      legacy(`{"pad": "${"x".repeat(2000)}"}`, 144),
      "TOO_LARGE",
      true,
    ],
    [
      "legacy extra part",
      [
        ...legacy('{"dtype": "uint8", "shape": [6, 8, 3]}', 144),
        new Uint8Array(1),
      ],
      "BAD_PARTS",
      true,
    ],
    [
      "legacy [h, w] grey",
      encodeLegacyRequest(new Uint8Array(48), {
        width: 8,
        height: 6,
        channels: 1,
      }),
      "ok",
      true,
    ],
  ];
  await withServer(["--workers", "1"], async (server, context) => {
    const peer = new TaggedPeer(context, server.endpoint);
    for (const [name, parts, code, legacyDialect] of cases) {
      // The case table itself must agree with the protocol decoder.
      const expected = expectedFor(parts);
      // (A JPEG can pass the decoder's checks and fail only when decoded.)
      const decodeOnly = code === "CORRUPT_JPEG" && expected.kind === "ok";
      if (!decodeOnly) {
        assert.equal(
          expected.kind === "ok" ? "ok" : expected.code,
          code,
          `case table: ${name}`,
        );
      }
      const reply = await peer.ask(parts);
      assert.equal(reply[0][0] === 0x7b, legacyDialect, `${name}: dialect`);
      assert.equal(checkReply(parts, reply, name), code, name);
    }
  });
});

Deno.test("server drops a peer that sends more than --max-message-size and serves the others", async () => {
  const limit = 1024 * 1024;
  const pixels = await clipFrame(GOOD_FRAME);
  await withServer(
    ["--workers", "1", "--max-message-size", String(limit)],
    async (server, context) => {
      const good = new TaggedPeer(context, server.endpoint);
      const reference = facesOf(await good.ask(goodRequest(pixels, 1)), 1);

      const big = new TaggedPeer(context, server.endpoint);
      const huge = new Uint8Array(limit + 1);
      const [hugeHeader] = request({
        format: "jpeg",
        width: 16,
        height: 8,
        pixels: jpegOf(16, 8),
      });
      const tag = await big.send([withU32(hugeHeader, 20, huge.length), huge]);
      // Meanwhile the other client is served as before.
      for (let i = 2; i < 5; i++) {
        assert.deepEqual(
          facesOf(await good.ask(goodRequest(pixels, i)), i),
          reference,
        );
      }
      assert.equal(
        await big.reply(tag, 2000),
        null,
        "an oversized message is never answered",
      );
      // The dropped peer reconnects by itself and is served when it behaves.
      assert.deepEqual(
        facesOf(await big.ask(goodRequest(pixels, 9)), 9),
        reference,
      );
      assert.deepEqual(
        facesOf(await good.ask(goodRequest(pixels, 10)), 10),
        reference,
      );
    },
  );
});
