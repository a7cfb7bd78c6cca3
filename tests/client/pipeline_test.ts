/**
 * Several frames in flight (`inFlight` / `--in-flight`), over real sockets:
 * a ROUTER in this process that answers out of order or slowly, then the
 * real server and client processes, also across a server killed mid-stream.
 */

import assert from "node:assert/strict";
import { type FrameResult, runSession } from "../../lib/client/session.ts";
import {
  decodeFrameRequest,
  encodeReply,
  type FrameRequest,
} from "../../lib/protocol/binary.ts";
import { Context } from "../../lib/zmq/zmq.ts";
import { ClosedError, TimeoutError } from "../../lib/zmq/errors.ts";
import {
  freePort,
  runClient,
  type ServerProcess,
  spawnClient,
  stackLines,
  startServer,
  waitUntil,
} from "../support/processes.ts";
import {
  CLIP,
  CLIP_FRAMES,
  clipClientArgs,
  countMatches,
  facesByFrame,
  framesOf,
} from "../support/clip_client.ts";
const TIMINGS = {
  decode: 0,
  detect: 1,
  recognise: 1,
  draw: 0,
  encode: 0,
  total: 2,
};

/** A request the fake server holds: who sent it and when it came. */
interface Held {
  peer: Uint8Array;
  request: FrameRequest;
  at: number;
}

/**
 * A ROUTER in this process standing in for the server. `pick` chooses which
 * held requests to answer now (and in which order); `answer` may give a
 * held request the reply meant for another. Counts requests held at once.
 */
function fakeRouter(
  pick: (held: Held[], now: number) => Held[],
  answer: (held: Held, all: Held[]) => Held = (held) => held,
) {
  const context = new Context();
  const router = context.socket("ROUTER");
  router.bind("tcp://127.0.0.1:*");
  const held: Held[] = [];
  const stats = { maxHeld: 0, frameIds: [] as number[] };
  const loop = (async () => {
    while (true) {
      let parts: Uint8Array[] | null = null;
      try {
        // Short waits: the socket does one thing at a time, and replies
        // must go out while no request comes.
        parts = await router.receive({ timeout: 5 });
      } catch (error) {
        if (error instanceof ClosedError) return;
        if (!(error instanceof TimeoutError)) throw error;
      }
      if (parts) {
        const [peer, _empty, ...message] = parts;
        const request = decodeFrameRequest(message);
        held.push({ peer, request, at: performance.now() });
        stats.frameIds.push(request.frameId);
        stats.maxHeld = Math.max(stats.maxHeld, held.length);
      }
      const chosen = pick(held, performance.now());
      const all = [...held];
      for (const done of chosen) held.splice(held.indexOf(done), 1);
      for (const done of chosen) {
        const { request } = answer(done, all);
        await router.send([
          done.peer,
          new Uint8Array(0),
          ...encodeReply({
            kind: "reply",
            frameId: request.frameId,
            timestamp: request.timestamp,
            faces: [{
              x: request.frameId,
              y: 0,
              w: 10,
              h: 10,
              label: "s1",
              distance: 1,
            }],
            timings: TIMINGS,
          }),
        ], { timeout: 1000 });
      }
    }
  })();
  return {
    endpoint: router.lastEndpoint,
    stats,
    async close() {
      router.close();
      await loop;
      await context.close();
    },
  };
}

/** Answers held requests in pairs, the later one first; a lone last one after 300 ms. */
function reversedPairs(held: Held[], now: number): Held[] {
  if (held.length >= 2) return [held[1], held[0]];
  if (held.length === 1 && now - held[0].at > 300) return [held[0]];
  return [];
}

Deno.test("with 2 in flight, answers that come back out of order are reported in frame order", async () => {
  const server = fakeRouter(reversedPairs);
  try {
    const results: FrameResult[] = [];
    const summary = await runSession({
      connect: server.endpoint,
      input: CLIP,
      everyFrame: true,
      frames: 20,
      inFlight: 2,
      timeout: 5000,
      onFrame: (result) => results.push(result),
      log: () => {},
    });
    assert.equal(summary.frames, 20);
    assert.equal(server.stats.maxHeld, 2, "two requests were at the server");
    assert.deepEqual(results.map((r) => r.frame), [...Array(20).keys()]);
    // Each frame got its own answer (the fake puts the frame id in x).
    assert.deepEqual(
      results.map((r) => r.faces[0].x),
      [...Array(20).keys()],
    );
  } finally {
    await server.close();
  }
});

Deno.test("with 3 in flight the server holds 3 requests at once, never more", async () => {
  // The oldest is answered only once 3 wait (or, at the end, after 300 ms).
  const server = fakeRouter((held, now) =>
    held.length >= 3 || (held.length > 0 && now - held[0].at > 300)
      ? [held[0]]
      : []
  );
  try {
    const results: FrameResult[] = [];
    await runSession({
      connect: server.endpoint,
      input: CLIP,
      everyFrame: true,
      frames: 12,
      inFlight: 3,
      timeout: 5000,
      onFrame: (result) => results.push(result),
      log: () => {},
    });
    assert.equal(server.stats.maxHeld, 3);
    assert.deepEqual(results.map((r) => r.frame), [...Array(12).keys()]);
    assert.deepEqual(server.stats.frameIds, [...Array(12).keys()]);
  } finally {
    await server.close();
  }
});

Deno.test("an answer paired with another frame's request is refused, not shown", async () => {
  // Both replies go out, each with the other request's frame id.
  const server = fakeRouter(
    (held) => held.length >= 2 ? [held[0], held[1]] : [],
    (held, all) => all.find((other) => other !== held) ?? held,
  );
  try {
    const results: FrameResult[] = [];
    await assert.rejects(
      runSession({
        connect: server.endpoint,
        input: CLIP,
        everyFrame: true,
        frames: 4,
        inFlight: 2,
        timeout: 5000,
        onFrame: (result) => results.push(result),
        log: () => {},
      }),
      /^Error: the server answered frame 1 to frame 0$/,
    );
    assert.deepEqual(results, []);
  } finally {
    await server.close();
  }
});

Deno.test("live input with 2 in flight sends only when a slot is free, the newest frame, in order", async () => {
  // 100 ms a frame: three frames of the 30 fps clip come in meanwhile.
  const server = fakeRouter((held, now) =>
    held.filter((h) => now - h.at >= 100)
  );
  try {
    const results: FrameResult[] = [];
    const summary = await runSession({
      connect: server.endpoint,
      input: CLIP, // without everyFrame: played live, at its own rate
      inFlight: 2,
      timeout: 5000,
      onFrame: (result) => results.push(result),
      log: () => {},
    });
    assert.equal(
      server.stats.maxHeld,
      2,
      "a second frame went while one was out",
    );
    const frames = results.map((r) => r.frame);
    assert.deepEqual(frames, [...frames].sort((a, b) => a - b));
    assert.equal(new Set(frames).size, frames.length);
    assert.ok(summary.dropped > 0, "frames came faster than slots freed");
    // No queue: each frame waited about one server time, never a backlog.
    for (const result of results) {
      assert.ok(
        result.latencyMs < 400,
        `frame ${result.frame}: ${result.latencyMs} ms`,
      );
    }
    // Two at a time roughly doubles the answers of one at a time.
    assert.ok(
      summary.frames > 1.4 * (summary.seconds * 1000 / 100),
      `${summary.frames} frames in ${summary.seconds} s`,
    );
  } finally {
    await server.close();
  }
});

Deno.test("live input with 2 in flight rides out an outage: one notice each way, newest frames after, in order", async () => {
  // Answers at once, except that everything coming in between 0.5 s and
  // 1.5 s after the first request is swallowed.
  let first: number | undefined;
  const swallowed: number[] = [];
  const server = fakeRouter((held, now) => {
    first ??= now;
    const out = now - first > 500 && now - first < 1500;
    if (out) {
      swallowed.push(...held.map((h) => h.request.frameId));
      held.length = 0;
      return [];
    }
    return [...held];
  });
  try {
    const results: FrameResult[] = [];
    const lines: string[] = [];
    const summary = await runSession({
      connect: server.endpoint,
      input: CLIP, // live, at its own rate: 2 s
      inFlight: 2,
      timeout: 200,
      onFrame: (result) => results.push(result),
      log: (line) => lines.push(line),
    });
    const notices = lines.filter((l) => /is not answering|is back/.test(l));
    assert.equal(notices.length, 2, notices.join("\n"));
    assert.match(notices[0], /is not answering/);
    assert.match(notices[1], /is back/);
    assert.ok(swallowed.length >= 2, "requests were lost");
    const frames = results.map((r) => r.frame);
    assert.deepEqual(frames, [...frames].sort((a, b) => a - b), "in order");
    assert.equal(new Set(frames).size, frames.length);
    // After the outage the newest frames went, not those that were lost.
    const gaps = frames.slice(1).map((frame, i) => frame - frames[i]);
    assert.ok(Math.max(...gaps) >= 15, `a jump over the outage: ${frames}`);
    assert.ok(summary.reconnects >= 2, `${summary.reconnects}`);
  } finally {
    await server.close();
  }
});

function clientArgs(endpoint: string, inFlight: number): string[] {
  return clipClientArgs(endpoint, [
    "--in-flight",
    String(inFlight),
    "--timeout",
    "1000",
    "--retries",
    "0",
  ]);
}

Deno.test("client --in-flight 3 against 2 workers: every frame in order, the same faces as one at a time", async () => {
  const server = await startServer(["--workers", "2", "--stats", "0"]);
  try {
    // Each frame named on its own: with tracks, which faces the server
    // re-checks depends on how many frames are in flight.
    const one = await runClient([
      ...clientArgs(server.endpoint, 1),
      "--no-track",
    ]);
    const three = await runClient([
      ...clientArgs(server.endpoint, 3),
      "--no-track",
    ]);
    for (const run of [one, three]) {
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(framesOf(run.stdout), [...Array(CLIP_FRAMES).keys()]);
      assert.deepEqual(stackLines(run.stderr), []);
    }
    assert.deepEqual(facesByFrame(three.stdout), facesByFrame(one.stdout));
  } finally {
    await server.stop("SIGKILL");
  }
});

Deno.test("client with 2 in flight survives its 2-worker server killed and restarted mid-stream", async () => {
  const endpoint = `tcp://127.0.0.1:${freePort()}`;
  const serverArgs = ["--bind", endpoint, "--workers", "2", "--stats", "0"];
  let server: ServerProcess | undefined = await startServer(serverArgs);
  const client = spawnClient(clientArgs(endpoint, 2));
  try {
    await waitUntil(() => framesOf(client.stdout()).length >= 10, {
      what: "10 answered frames",
    });
    await server.stop("SIGKILL");
    server = undefined;
    assert.ok(framesOf(client.stdout()).length < CLIP_FRAMES, "still busy");
    await waitUntil(() => /is not answering/.test(client.stderr()), {
      what: "the client's outage notice",
    });
    server = await startServer(serverArgs);
    const run = await client.finished;
    assert.equal(run.code, 0, run.stderr);
    assert.equal(countMatches(run.stderr, /is not answering/), 1, run.stderr);
    assert.equal(countMatches(run.stderr, /is back \(after/), 1, run.stderr);
    assert.deepEqual(
      framesOf(run.stdout),
      [...Array(CLIP_FRAMES).keys()],
      "every frame answered once, in order",
    );
    const summary = JSON.parse(/summary: (.*)/.exec(run.stderr)![1]);
    assert.ok(summary.reconnects >= 2, "both sockets were reopened");
    assert.deepEqual(stackLines(run.stderr), []);
  } finally {
    client.kill("SIGKILL");
    await client.finished;
    if (server) await server.stop("SIGKILL");
  }
});
