import assert from "node:assert/strict";
import { openEventPublisher } from "../../lib/events/publisher.ts";
import type { TrackEvent } from "../../lib/events/track_events.ts";
import { Context } from "../../lib/zmq/zmq.ts";

const event = (n: number, kind: "appeared" | "left"): TrackEvent => ({
  event: kind,
  name: `s${n}`,
  known: true,
  camera: "test",
  track: n,
  time: new Date(0).toISOString(),
  box: { x: n, y: 2, w: 3, h: 4 },
});

Deno.test("events arrive at a SUB socket as [topic, JSON], filtered by topic", async () => {
  const publisher = openEventPublisher("tcp://127.0.0.1:0");
  const context = new Context();
  try {
    assert.match(publisher.endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    const all = context.socket("SUB", {
      subscribe: [""],
      receiveTimeout: 5000,
    });
    const left = context.socket("SUB", {
      subscribe: ["left"],
      receiveTimeout: 5000,
    });
    all.connect(publisher.endpoint);
    left.connect(publisher.endpoint);
    // A subscription takes a moment to reach the publisher (slow joiner):
    // publish until both subscribers have one, then drain what came.
    const joined = Promise.all([all.receive(), left.receive()]);
    const early = setInterval(() => publisher.publish(event(0, "left")), 20);
    await joined.finally(() => clearInterval(early));
    await new Promise((r) => setTimeout(r, 100));
    for (const socket of [all, left]) {
      while (await socket.receive({ timeout: 50 }).catch(() => null)) {
        // drained
      }
    }
    await publisher.publish(event(1, "appeared"));
    await publisher.publish(event(1, "left"));
    const decode = (parts: Uint8Array[]) =>
      parts.map((p) => new TextDecoder().decode(p));
    const a = decode(await all.receive());
    assert.equal(a[0], "appeared");
    assert.deepEqual(JSON.parse(a[1]), event(1, "appeared"));
    assert.deepEqual(decode(await all.receive())[0], "left");
    let l = decode(await left.receive());
    // Only "left" topics reach the second subscriber.
    assert.equal(l[0], "left");
    l = JSON.parse(l[1]);
    assert.deepEqual(l, event(1, "left"));
  } finally {
    await context.close();
    await publisher.close();
  }
});

Deno.test("a busy endpoint is refused at once", async () => {
  const publisher = openEventPublisher("tcp://127.0.0.1:0");
  try {
    assert.throws(() => openEventPublisher(publisher.endpoint));
  } finally {
    await publisher.close();
  }
});
