import assert from "node:assert/strict";
import {
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";
import { FrameHandler } from "../../lib/server/frame_handler.ts";
import { type Image, toBgr } from "../../lib/images/image.ts";
import {
  decodeImage,
  encodeJpeg,
  readImage,
} from "../../lib/images/image_io.ts";
import { loadOpenCV } from "../../lib/face/opencv.ts";
import type { PixelFormat } from "../../lib/images/pixel_format.ts";
import {
  decodeReply,
  encodeRequest,
  type FrameReply,
} from "../../lib/protocol/binary.ts";
import {
  decodeLegacyReply,
  encodeLegacyRequest,
} from "../../lib/protocol/legacy.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import type { Recognizer } from "../../lib/face/recognizer.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** An RGB 640x480 frame with ORL face `file` (AT&T Laboratories Cambridge / ORL) scaled 2x at (200, 100). */
async function frameWithFace(file: string): Promise<Image> {
  const face = await readImage(file, { grey: true });
  const width = 640;
  const height = 480;
  const data = new Uint8Array(width * height * 3).fill(120);
  for (let y = 0; y < face.height * 2; y++) {
    for (let x = 0; x < face.width * 2; x++) {
      const v = face.data[(y >> 1) * face.width + (x >> 1)];
      data.set([v, v, v], ((100 + y) * width + 200 + x) * 3);
    }
  }
  return { width, height, channels: 3, data };
}

async function setup() {
  await loadOpenCV();
  const detector = await FaceDetector.create();
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    detector,
    onWarning: () => {},
  });
  return {
    detector,
    recognizer,
    handler: new FrameHandler(detector, recognizer, {
      detect: SERVER_DETECT_OPTIONS,
    }),
  };
}

function request(
  frame: Image,
  format: PixelFormat,
  reply: "faces" | "faces+frame" = "faces",
) {
  const pixels = format === "grey8"
    ? Uint8Array.from(
      { length: frame.width * frame.height },
      (_, i) => frame.data[i * 3],
    )
    : format === "bgr24"
    ? toBgr(frame)
    : format === "jpeg"
    ? encodeJpeg(frame, { quality: 95 })
    : frame.data;
  return encodeRequest({
    kind: "frame",
    format,
    width: frame.width,
    height: frame.height,
    frameId: 7,
    timestamp: 1234.5,
    reply,
    frameFormat: reply === "faces+frame" ? "rgb24" : undefined,
    pixels,
  });
}

Deno.test("every pixel format finds and names the same face", async () => {
  const { detector, handler, recognizer } = await setup();
  try {
    // ORL s2 image 7: a person in train/ (trained on images 1-5 only).
    const frame = await frameWithFace(`${ROOT}tests/fixtures/orl/s2/7.pgm`);
    const answers: FrameReply[] = [];
    for (const format of ["grey8", "rgb24", "bgr24", "jpeg"] as const) {
      const handled = handler.handle(request(frame, format));
      assert.ok(handled.ok, handled.error);
      const reply = decodeReply(handled.reply);
      assert.equal(reply.kind, "reply");
      if (reply.kind !== "reply") return;
      assert.equal(reply.frameId, 7);
      assert.equal(reply.timestamp, 1234.5);
      assert.equal(reply.frame, undefined);
      assert.equal(
        reply.faces.length,
        1,
        `${format}: ${JSON.stringify(reply.faces)}`,
      );
      assert.ok(reply.timings.total >= reply.timings.detect);
      answers.push(reply);
    }
    // Asked to be far more certain than any match can be, the handler says unknown.
    const cautious = new FrameHandler(detector, recognizer, {
      detect: SERVER_DETECT_OPTIONS,
      ambiguity: 0.001,
    });
    const doubtful = decodeReply(
      cautious.handle(request(frame, "grey8")).reply,
    );
    if (doubtful.kind !== "reply") throw new Error("no reply");
    assert.equal(doubtful.faces[0].label, "unknown");
    const [grey, rgb, bgr, jpeg] = answers;
    assert.deepEqual(rgb.faces, grey.faces);
    assert.deepEqual(bgr.faces, grey.faces);
    assert.equal(jpeg.faces[0].label, grey.faces[0].label);
    // The face is where it was put: 184x224 at (200, 100).
    const f = grey.faces[0];
    const [cx, cy] = [f.x + f.w / 2, f.y + f.h / 2];
    assert.ok(cx > 200 && cx < 384 && cy > 100 && cy < 324, JSON.stringify(f));
  } finally {
    detector.close();
  }
});

Deno.test("faces+frame returns the annotated frame; the legacy dialect returns BGR", async () => {
  const { detector, handler } = await setup();
  try {
    const frame = await frameWithFace(`${ROOT}tests/fixtures/orl/s7/3.pgm`);
    const reply = decodeReply(
      handler.handle(request(frame, "rgb24", "faces+frame")).reply,
    );
    assert.equal(reply.kind, "reply");
    if (reply.kind !== "reply" || !reply.frame) throw new Error("no frame");
    assert.equal(reply.frame.format, "rgb24");
    assert.equal(reply.frame.pixels.length, 640 * 480 * 3);
    let changed = 0;
    for (let i = 0; i < frame.data.length; i++) {
      if (frame.data[i] !== reply.frame.pixels[i]) changed++;
    }
    assert.ok(changed > 500, `${changed} bytes changed by drawing`);
    // The request's own pixels were not drawn on.
    assert.equal(
      frame.data[100 * 640 * 3 + 200 * 3],
      frame.data[101 * 640 * 3 + 201 * 3],
    );

    const jpegReply = decodeReply(
      handler.handle(encodeRequest({
        kind: "frame",
        format: "grey8",
        width: 640,
        height: 480,
        frameId: 1,
        timestamp: 0,
        reply: "faces+frame",
        frameFormat: "jpeg",
        pixels: new Uint8Array(640 * 480).fill(50),
      })).reply,
    );
    if (jpegReply.kind !== "reply" || !jpegReply.frame) {
      throw new Error("no jpeg frame");
    }
    const decoded = decodeImage(jpegReply.frame.pixels);
    assert.deepEqual([decoded.width, decoded.height], [640, 480]);

    const legacy = handler.handle(
      encodeLegacyRequest(toBgr(frame), { width: 640, height: 480 }),
    );
    assert.ok(legacy.ok);
    const legacyReply = decodeLegacyReply(legacy.reply);
    assert.equal(legacyReply.kind, "legacy-reply");
    assert.equal(legacy.faces?.length, 1);
  } finally {
    detector.close();
  }
});

/** A JPEG request whose header says 64 pixels wide for a 32-pixel JPEG. */
function wrongWidth(): Uint8Array[] {
  const parts = encodeRequest({
    kind: "frame",
    format: "jpeg",
    width: 32,
    height: 48,
    frameId: 1,
    timestamp: 0,
    reply: "faces",
    pixels: encodeJpeg({
      width: 32,
      height: 48,
      channels: 1,
      data: new Uint8Array(32 * 48),
    }),
  });
  new DataView(parts[0].buffer, parts[0].byteOffset).setUint32(8, 64, true); // width
  return parts;
}

Deno.test("bad requests get error replies with their code, never an exception", async () => {
  const { detector, handler } = await setup();
  try {
    const cases: [Uint8Array[], string][] = [
      [[new TextEncoder().encode("hello"), new Uint8Array(0)], "BAD_MAGIC"],
      [[...wrongWidth(), new Uint8Array(3)], "BAD_PARTS"],
      [wrongWidth(), "BAD_DIMENSIONS"],
    ];
    const jpeg = encodeJpeg({
      width: 64,
      height: 48,
      channels: 1,
      data: new Uint8Array(64 * 48).fill(9),
    });
    const corrupt = jpeg.slice();
    corrupt.fill(0xff, 200, 400); // a valid header, broken scan data
    cases.push([
      encodeRequest({
        kind: "frame",
        format: "jpeg",
        width: 64,
        height: 48,
        frameId: 1,
        timestamp: 0,
        reply: "faces",
        pixels: corrupt,
      }),
      "CORRUPT_JPEG",
    ]);
    for (const [parts, code] of cases) {
      const handled = handler.handle(parts);
      assert.equal(handled.ok, false, code);
      const reply = decodeReply(handled.reply);
      assert.equal(reply.kind, "error");
      if (reply.kind === "error") assert.equal(reply.code, code, reply.message);
      assert.match(handled.error ?? "", new RegExp(`^${code}: `));
    }
    // A broken legacy request is answered in the legacy dialect.
    const legacy = handler.handle([
      new TextEncoder().encode('{"dtype": "float32", "shape": [2, 2, 3]}'),
      new Uint8Array(12),
    ]);
    assert.equal(legacy.ok, false);
    assert.match(new TextDecoder().decode(legacy.reply[0]), /^\{"error":/);
  } finally {
    detector.close();
  }
});

/** `inner`, seen as a recogniser that works on `channels`, noting the channels of each frame it describes. */
function asIfChannels(
  inner: Recognizer,
  channels: 1 | 3,
  seen: number[],
): Recognizer {
  return new Proxy(inner, {
    get(target, name) {
      if (name === "channels") return channels;
      if (name === "describe") {
        return (...args: Parameters<Recognizer["describe"]>) => {
          seen.push(args[0].channels);
          return target.describe(...args);
        };
      }
      const value = Reflect.get(target, name, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

Deno.test("a colour recogniser names faces in the RGB frame, a grey one in the grey frame", async () => {
  const { detector, recognizer } = await setup();
  try {
    // ORL s2 image 7: a person in train/ (trained on images 1-5 only).
    const frame = await frameWithFace(`${ROOT}tests/fixtures/orl/s2/7.pgm`);
    for (const channels of [1, 3] as const) {
      const seen: number[] = [];
      const handler = new FrameHandler(
        detector,
        asIfChannels(recognizer, channels, seen),
        { detect: SERVER_DETECT_OPTIONS },
      );
      for (const reply of ["faces", "faces+frame"] as const) {
        const found = [];
        for (const format of ["grey8", "rgb24", "bgr24"] as const) {
          const handled = handler.handle(request(frame, format, reply));
          assert.ok(handled.ok, handled.error);
          found.push(handled.faces);
        }
        const legacy = handler.handle(
          encodeLegacyRequest(toBgr(frame), { width: 640, height: 480 }),
        );
        assert.ok(legacy.ok, legacy.error);
        found.push(legacy.faces);
        // The same face and distance whichever pixels LBPH was handed.
        assert.equal(found[0]?.length, 1);
        for (const faces of found) assert.deepEqual(faces, found[0]);
        assert.equal(found[0]?.[0].label, "s2");
      }
      // A grey request has no colour to give.
      const perReply = channels === 1 ? [1, 1, 1, 1] : [1, 3, 3, 3];
      assert.deepEqual(
        seen,
        [...perReply, ...perReply],
        `channels ${channels}`,
      );
    }
  } finally {
    detector.close();
  }
});
