/**
 * Publishes track events on a ZeroMQ PUB socket: each event is a two-part
 * message, the topic (`appeared` or `left`, so a subscriber can pick one)
 * and the event as JSON. The client binds; any number of subscribers
 * connect and subscribe to `""` (everything) or a topic.
 *
 * ```ts
 * import { openEventPublisher } from "./lib/events/publisher.ts";
 * const events = openEventPublisher("tcp://127.0.0.1:5600");
 * await events.publish({ event: "appeared", name: "s1", known: true, camera: "door",
 *   track: 1, time: new Date().toISOString(), box: { x: 0, y: 0, w: 10, h: 10 } });
 * await events.close();
 * ```
 *
 * @module
 */

import { Context, type Socket } from "../zmq/zmq.ts";
import type { TrackEvent } from "./track_events.ts";

/** How long closing waits for queued events to reach subscribers, ms. */
export const CLOSE_LINGER_MS = 1000;

/** A bound PUB socket for events. */
export interface EventPublisher {
  /** The endpoint bound (with the real port when 0 was asked for). */
  readonly endpoint: string;
  /** Sends one event (never waits for subscribers: none is no error). */
  publish(event: TrackEvent): Promise<void>;
  /** Sends what is queued (up to {@linkcode CLOSE_LINGER_MS}) and closes. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/**
 * Binds a PUB socket at `endpoint` (e.g. `tcp://*:5600`). Throws when the
 * endpoint cannot be bound (in use, malformed).
 */
export function openEventPublisher(endpoint: string): EventPublisher {
  const context = new Context();
  let socket: Socket;
  try {
    socket = context.socket("PUB", { linger: CLOSE_LINGER_MS });
    socket.bind(endpoint);
  } catch (error) {
    context.close();
    throw error;
  }
  // One send at a time on a socket: events go out in order.
  let queue: Promise<void> = Promise.resolve();
  return {
    endpoint: socket.lastEndpoint,
    publish(event) {
      const parts = [
        encoder.encode(event.event),
        encoder.encode(JSON.stringify(event)),
      ];
      const sent = queue.then(() => socket.send(parts));
      queue = sent.catch(() => {});
      return sent;
    },
    async close() {
      await queue;
      await context.close();
    },
  };
}
