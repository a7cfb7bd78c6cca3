import assert from "node:assert/strict";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import { openCapture } from "../../lib/video/capture.ts";
import {
  decodeLegacyReply,
  encodeLegacyRequest,
} from "../../lib/protocol/legacy.ts";
import { Context } from "../../lib/zmq/zmq.ts";
import { PROJECT_ROOT, startServer } from "../support/processes.ts";
import { pythonImports } from "../support/python.ts";

const CLIP = `${PROJECT_ROOT}tests/fixtures/clip/clip.mp4`;
/** The ffmpeg the programs use: on PATH, else the npm package's (a fresh machine). */
const FFMPEG = await findFfmpeg();

/** Frame `index` of the fixture clip as raw BGR bytes, as cv2.VideoCapture gives it. */
async function clipFrameBgr(index: number): Promise<Uint8Array> {
  const capture = openCapture({
    ffmpeg: FFMPEG,
    input: CLIP,
    width: 640,
    height: 480,
    pixelFormat: "bgr24",
    everyFrame: true,
  });
  try {
    for (;;) {
      const frame = await capture.next();
      if (!frame) throw new Error(`the clip has no frame ${index}`);
      if (frame.index === index) return frame.data.slice();
    }
  } finally {
    await capture.close();
  }
}

/** Pixels where the reply differs from the request, and how many are pure green (a known face's box). */
function changes(
  before: Uint8Array,
  after: Uint8Array,
): { changed: number; green: number } {
  let changed = 0;
  let green = 0;
  for (let i = 0; i < before.length; i += 3) {
    if (
      before[i] !== after[i] || before[i + 1] !== after[i + 1] ||
      before[i + 2] !== after[i + 2]
    ) {
      changed++;
      if (after[i] === 0 && after[i + 1] === 255 && after[i + 2] === 0) green++;
    }
  }
  return { changed, green };
}

Deno.test("the original Python client's messages get the annotated BGR frame back", async () => {
  const truth = JSON.parse(
    await Deno.readTextFile(
      `${PROJECT_ROOT}tests/fixtures/clip/clip_truth.json`,
    ),
  );
  const withKnownFace = truth.findIndex((t: { faces: { name: string }[] }) =>
    t.faces.length === 1 && t.faces[0].name !== "unknown"
  );
  const empty = truth.findIndex((t: { faces: unknown[] }) =>
    t.faces.length === 0
  );
  assert.ok(withKnownFace >= 0 && empty >= 0);

  const server = await startServer(["--workers", "1"]);
  const context = new Context();
  try {
    const socket = context.socket("REQ");
    socket.connect(server.endpoint);

    // Exactly what pyzmq's send_json(..., SNDMORE) + send(frame.tobytes()) put on the wire.
    const bgr = await clipFrameBgr(withKnownFace);
    const request = encodeLegacyRequest(bgr, { width: 640, height: 480 });
    assert.equal(
      new TextDecoder().decode(request[0]),
      '{"dtype": "uint8", "shape": [480, 640, 3]}',
    );
    await socket.send(request, { timeout: 5000 });
    const replyParts = await socket.receive({ timeout: 10_000 });
    assert.equal(replyParts.length, 2);
    const header = JSON.parse(new TextDecoder().decode(replyParts[0]));
    assert.deepEqual(header, { dtype: "uint8", shape: [480, 640, 3] });
    const reply = decodeLegacyReply(replyParts);
    assert.equal(reply.kind, "legacy-reply");
    if (reply.kind !== "legacy-reply") return;
    assert.equal(reply.pixels.length, 640 * 480 * 3);
    // A known face: a green (BGR 0,255,0) box was drawn, the rest is the frame as sent.
    const known = changes(bgr, reply.pixels);
    assert.ok(known.green > 200, JSON.stringify(known));
    assert.ok(known.changed < 640 * 480 * 0.1, JSON.stringify(known));

    // A frame with nobody in it comes back unchanged.
    const blank = await clipFrameBgr(empty);
    await socket.send(encodeLegacyRequest(blank, { width: 640, height: 480 }), {
      timeout: 5000,
    });
    const blankReply = decodeLegacyReply(
      await socket.receive({ timeout: 10_000 }),
    );
    assert.equal(blankReply.kind, "legacy-reply");
    if (blankReply.kind === "legacy-reply") {
      assert.deepEqual(blankReply.pixels, blank);
    }

    // A malformed legacy request (shape disagrees with the bytes) gets a legacy error reply.
    const bad = new TextEncoder().encode(
      '{"dtype": "uint8", "shape": [480, 640, 3]}',
    );
    await socket.send([bad, new Uint8Array(100)], { timeout: 5000 });
    const errorParts = await socket.receive({ timeout: 10_000 });
    assert.equal(errorParts.length, 2);
    const error = JSON.parse(new TextDecoder().decode(errorParts[0]));
    assert.equal(error.code, "BAD_SIZE");
    assert.equal(typeof error.error, "string");
  } finally {
    await context.close();
    await server.stop("SIGINT");
  }
});

Deno.test({
  name:
    "the original Python client itself (bench/original_client.py) works unchanged against our server",
  ignore: !pythonImports("cv2, zmq"),
  fn: async () => {
    const server = await startServer(["--workers", "1"]);
    try {
      const result = await new Deno.Command("/usr/bin/python3", {
        args: [
          `${PROJECT_ROOT}bench/original_client.py`,
          "--connect",
          server.endpoint,
          "--input",
          CLIP,
          "--frames",
          "20",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(result.stderr);
      assert.equal(result.code, 0, stderr);
      const figures = JSON.parse(new TextDecoder().decode(result.stdout));
      assert.equal(figures.frames, 20);
    } finally {
      await server.stop("SIGINT");
    }
  },
});
