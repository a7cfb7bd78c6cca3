import assert from "node:assert/strict";
import {
  FaceDetector,
  SERVER_DETECT_OPTIONS,
} from "../../lib/face/detector.ts";
import {
  FrameHandler,
  type HandledMessage,
} from "../../lib/server/frame_handler.ts";
import { decodeReply, encodeRequest } from "../../lib/protocol/binary.ts";
import { serveRequests } from "../../lib/server/serve_loop.ts";
import { trainFromFolder } from "../../lib/face/training.ts";
import { faceRequest } from "../support/frames.ts";
import { Context } from "../../lib/zmq/zmq.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("serveRequests answers valid and garbage requests, then ends when aborted", async () => {
  const detector = await FaceDetector.create();
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    detector,
    onWarning: () => {},
  });
  const handler = new FrameHandler(detector, recognizer, {
    detect: SERVER_DETECT_OPTIONS,
  });
  const context = new Context();
  try {
    const server = context.socket("REP");
    server.bind("tcp://127.0.0.1:*");
    const client = context.socket("REQ");
    client.connect(server.lastEndpoint);

    const handled: HandledMessage[] = [];
    const abort = new AbortController();
    let ended = false;
    const loop = serveRequests(server, handler, {
      signal: abort.signal,
      onMessage: (message) => handled.push(message),
    }).then(() => {
      ended = true;
    });

    // ORL s2 image 7: a person in train/ (trained on images 1-5 only).
    await client.send(
      await faceRequest(`${ROOT}tests/fixtures/orl/s2/7.pgm`, {
        frameId: 41,
        timestamp: 99.5,
      }),
      { timeout: 5000 },
    );
    const faceReply = decodeReply(await client.receive({ timeout: 10_000 }));
    assert.equal(faceReply.kind, "reply");
    if (faceReply.kind !== "reply") return;
    assert.equal(faceReply.frameId, 41);
    assert.equal(faceReply.timestamp, 99.5);
    assert.deepEqual(faceReply.faces.map((f) => f.label), ["s2"]);

    // A plain grey 64x48 frame: a valid request with no face in it.
    await client.send(
      encodeRequest({
        kind: "frame",
        format: "grey8",
        width: 64,
        height: 48,
        frameId: 42,
        timestamp: 0,
        reply: "faces",
        pixels: new Uint8Array(64 * 48).fill(128),
      }),
      { timeout: 5000 },
    );
    const emptyReply = decodeReply(await client.receive({ timeout: 10_000 }));
    assert.equal(emptyReply.kind, "reply");
    if (emptyReply.kind !== "reply") return;
    assert.equal(emptyReply.frameId, 42);
    assert.deepEqual(emptyReply.faces, []);

    // Garbage still gets an answer: an error reply, and the loop goes on.
    await client.send(
      [new TextEncoder().encode("not a frame"), new Uint8Array([1, 2, 3])],
      { timeout: 5000 },
    );
    const errorReply = decodeReply(await client.receive({ timeout: 10_000 }));
    assert.equal(errorReply.kind, "error");
    if (errorReply.kind !== "error") return;
    assert.equal(errorReply.code, "BAD_MAGIC");

    assert.deepEqual(handled.map((h) => h.ok), [true, true, false]);
    assert.deepEqual(handled[0].faces?.map((f) => f.label), ["s2"]);
    assert.match(handled[2].error ?? "", /^BAD_MAGIC: /);
    assert.equal(ended, false);
    assert.equal(server.closed, false);

    abort.abort();
    await loop;
    assert.equal(ended, true);
    assert.equal(server.closed, true);
    assert.equal(handled.length, 3);
  } finally {
    await context.close();
    detector.close();
  }
});

Deno.test("serveRequests with an already aborted signal closes the socket; closing the socket ends the loop", async () => {
  const detector = await FaceDetector.create();
  const { recognizer } = await trainFromFolder(`${ROOT}train`, {
    faces: "whole",
    onWarning: () => {},
  });
  const handler = new FrameHandler(detector, recognizer);
  const context = new Context();
  try {
    const aborted = context.socket("REP");
    aborted.bind("tcp://127.0.0.1:*");
    const messages: HandledMessage[] = [];
    await serveRequests(aborted, handler, {
      signal: AbortSignal.abort(),
      onMessage: (m) => messages.push(m),
    });
    assert.equal(aborted.closed, true, "an aborted signal closes the socket");

    // Closing the socket from outside ends a loop that is waiting.
    const closed = context.socket("REP");
    closed.bind("tcp://127.0.0.1:*");
    const loop = serveRequests(closed, handler, {
      onMessage: (m) => messages.push(m),
    });
    closed.close();
    await loop;
    assert.equal(closed.closed, true);
    assert.deepEqual(messages, []);
  } finally {
    await context.close();
    detector.close();
  }
});
