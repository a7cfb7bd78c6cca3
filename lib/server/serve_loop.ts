/**
 * The receive-handle-reply loop of a recognition worker, whether it runs as a
 * thread of the server or as a process on another machine. Every request
 * gets a reply (an error reply when it is malformed).
 *
 * @module
 */

import type { HandledMessage } from "./frame_handler.ts";
import type { Socket } from "../zmq/zmq.ts";
import { ClosedError } from "../zmq/errors.ts";

/**
 * What answers one request: a `FrameHandler`, or anything with its `handle`
 * (an enrolment takes its time, waiting for the main thread, so the answer
 * may come later).
 */
export interface RequestHandler {
  /** Answers one request; never throws. */
  handle(parts: Uint8Array[]): HandledMessage | Promise<HandledMessage>;
}

/** Options for {@linkcode serveRequests}. */
export interface ServeOptions {
  /** Aborting closes the socket and ends the loop. */
  signal?: AbortSignal;
  /** Called after each reply is sent. */
  onMessage?: (handled: HandledMessage) => void;
  /** How long a reply may wait to be queued (ms). Default 5000. */
  sendTimeout?: number;
}

/**
 * Serves requests on a REP socket until it is closed or `signal` aborts.
 * Resolves when the loop has ended.
 */
export async function serveRequests(
  socket: Socket,
  handler: RequestHandler,
  options: ServeOptions = {},
): Promise<void> {
  const signal = options.signal;
  const stop = () => socket.close();
  if (signal?.aborted) stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    while (!signal?.aborted && !socket.closed) {
      let parts: Uint8Array[];
      try {
        parts = await socket.receive({ timeout: -1 });
      } catch (error) {
        if (error instanceof ClosedError) break;
        throw error;
      }
      const handled = await handler.handle(parts);
      try {
        await socket.send(handled.reply, {
          timeout: options.sendTimeout ?? 5000,
        });
      } catch (error) {
        if (error instanceof ClosedError) break;
        // The client went away: REP has nothing more to do for it.
        console.error(`worker: reply not sent: ${(error as Error).message}`);
        continue;
      }
      options.onMessage?.(handled);
    }
  } finally {
    signal?.removeEventListener("abort", stop);
  }
}
