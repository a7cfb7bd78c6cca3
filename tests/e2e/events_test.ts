/**
 * `client --events`: a real client process on the fixture clip publishes
 * who appeared and who left; a real SUB socket receives it.
 */

import assert from "node:assert/strict";
import type { TrackEvent } from "../../lib/events/track_events.ts";
import { Context } from "../../lib/zmq/zmq.ts";
import {
  freePort,
  runClient,
  stackLines,
  startServer,
} from "../support/processes.ts";

Deno.test("client --events publishes appeared and left events on the fixture clip", async () => {
  const server = await startServer(["--train", "train", "--workers", "2"]);
  const context = new Context();
  try {
    const endpoint = `tcp://127.0.0.1:${freePort()}`;
    // Connected before the client binds: libzmq retries every 10 ms, so the
    // subscription is in place long before the first face settles.
    const sub = context.socket("SUB", {
      subscribe: [""],
      reconnectInterval: 10,
    });
    sub.connect(endpoint);
    const received: [string, TrackEvent][] = [];
    const decoder = new TextDecoder();
    const listening = (async () => {
      while (true) {
        const parts = await sub.receive({ timeout: 3000 }).catch(() => null);
        if (parts === null) return;
        received.push([
          decoder.decode(parts[0]),
          JSON.parse(decoder.decode(parts[1])),
        ]);
      }
    })();
    const run = await runClient([
      "--connect",
      server.endpoint,
      "--input",
      "tests/fixtures/clip/clip.mp4",
      "--every-frame",
      // One frame at a time: the same answers feed the tracker in every run.
      "--in-flight",
      "1",
      "--view",
      "none",
      "--events",
      endpoint,
      "--camera",
      "door-1",
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`events: publishing on ${endpoint}`));
    assert.deepEqual(stackLines(run.stderr), []);
    await listening;

    const events = received.map(([topic, event]) => {
      assert.equal(topic, event.event, "the topic is the event's name");
      return event;
    });
    const summary = events.map((e) => `${e.event} ${e.name} #${e.track}`);
    for (const event of events) {
      assert.equal(event.camera, "door-1");
      assert.equal(event.known, event.name !== "unknown");
      assert.ok(Number.isInteger(event.track) && event.track > 0);
      assert.equal(new Date(event.time).toISOString(), event.time);
      assert.deepEqual(Object.keys(event.box), ["x", "y", "w", "h"]);
      assert.ok(event.box.w > 50 && event.box.h > 50, JSON.stringify(event));
    }
    // s2 comes, turns into s1 in place (the same track: unknown for a while
    // in between, until s1's evidence is clear), a stranger comes; everybody
    // has left when the clip ends.
    const appeared = events.filter((e) => e.event === "appeared");
    const s2Track = appeared.find((e) => e.name === "s2")?.track;
    const namesOf = (track: number | undefined) =>
      appeared.filter((e) => e.track === track).map((e) => e.name).join();
    assert.match(namesOf(s2Track), /^s2,(unknown,)?s1$/, summary.join("; "));
    const others = [...new Set(appeared.map((e) => e.track))]
      .filter((t) => t !== s2Track);
    assert.deepEqual(others.map(namesOf), ["unknown"], summary.join("; "));
    for (const { name, track } of appeared) {
      const left = events.filter((e) =>
        e.event === "left" && e.name === name && e.track === track
      );
      assert.equal(left.length, 1, `${name} #${track} left once: ${summary}`);
      assert.ok(
        events.indexOf(left[0]) > events.indexOf(
          appeared.find((e) => e.name === name)!,
        ),
      );
    }
    assert.equal(events.length, 2 * appeared.length, summary.join("; "));
  } finally {
    await context.close();
    await server.stop("SIGINT");
  }
});
