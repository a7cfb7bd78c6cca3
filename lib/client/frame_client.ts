/**
 * The client's side of REQ/REP, made to ride out server outages with the
 * "Lazy Pirate" pattern (ZeroMQ guide, chapter 4): every request has a
 * timeout; on timeout the REQ socket is closed and reopened (a REQ socket
 * that lost its reply is stuck otherwise) and the request is tried again
 * with backoff. An outage is reported once, and once when it is over.
 *
 * @module
 */

import { Context, type Socket } from "../zmq/zmq.ts";
import type { CurveKey } from "../zmq/curve.ts";
import { TimeoutError } from "../zmq/errors.ts";

/** Thrown when the server did not answer within the allowed retries. */
export class ServerUnavailableError extends Error {
  /** Creates the error with a message for the user. */
  constructor(message: string) {
    super(message);
    this.name = "ServerUnavailableError";
  }
}

/** Options for {@linkcode FrameClient}. */
export interface FrameClientOptions {
  /** Milliseconds to wait for each reply. Default 1000. */
  timeout?: number;
  /** Attempts after the first before giving up; 0 = forever (default). */
  retries?: number;
  /** Longest pause between attempts, ms. Default 500. */
  maxBackoff?: number;
  /** CURVE encryption: the server's public key and this client's key pair. */
  curve?: { serverKey: CurveKey; publicKey: CurveKey; secretKey: CurveKey };
  /** Where outage notices go. Default `console.error`. */
  log?: (line: string) => void;
  /** Largest reply accepted, bytes. Default 64 MiB. */
  maxMessageSize?: number;
}

/** A REQ connection to a facezmq server that survives server restarts. */
export class FrameClient {
  readonly endpoint: string;
  #context = new Context();
  #socket: Socket;
  #options: FrameClientOptions;
  #log: (line: string) => void;
  #outageSince: number | null = null;
  #closed = false;
  /** Number of times the socket was reopened after a timeout. */
  reconnects = 0;

  /** Connects (lazily: the server need not be up yet) to `endpoint`. */
  constructor(endpoint: string, options: FrameClientOptions = {}) {
    this.endpoint = endpoint;
    this.#options = options;
    this.#log = options.log ?? ((line) => console.error(line));
    this.#socket = this.#open();
  }

  #open(): Socket {
    const socket = this.#context.socket("REQ", {
      linger: 0,
      reconnectInterval: 100,
      maxMessageSize: this.#options.maxMessageSize ?? 64 * 1024 * 1024,
      curveClient: this.#options.curve,
    });
    socket.connect(this.endpoint);
    return socket;
  }

  /** True while the server is not answering. */
  get inOutage(): boolean {
    return this.#outageSince !== null;
  }

  /**
   * Sends the parts `build()` returns and resolves with the reply. On a
   * timeout the socket is reopened and `build()` is called again for the next
   * attempt (live capture passes its newest frame then; a file resends).
   * Throws {@linkcode ServerUnavailableError} after `retries` failed retries.
   */
  async exchange(
    build: () => Promise<Uint8Array[]> | Uint8Array[],
  ): Promise<Uint8Array[]> {
    const timeout = this.#options.timeout ?? 1000;
    const retries = this.#options.retries ?? 0;
    const maxBackoff = this.#options.maxBackoff ?? 500;
    let failures = 0;
    while (true) {
      if (this.#closed) {
        throw new ServerUnavailableError("the client was closed");
      }
      const parts = await build();
      try {
        await this.#socket.send(parts, { timeout });
        const reply = await this.#socket.receive({ timeout });
        if (this.#outageSince !== null) {
          const seconds = (performance.now() - this.#outageSince) / 1000;
          this.#log(
            `server at ${this.endpoint} is back (after ${
              seconds.toFixed(1)
            } s)`,
          );
          this.#outageSince = null;
        }
        return reply;
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
      }
      // Lazy Pirate: the REQ socket is stuck waiting for a lost reply.
      this.#socket.close();
      this.#socket = this.#open();
      this.reconnects++;
      failures++;
      if (this.#outageSince === null) {
        this.#outageSince = performance.now() - timeout;
        this.#log(
          `server at ${this.endpoint} is not answering (no reply within ${timeout} ms); ` +
            (retries === 0
              ? "retrying until it is back"
              : `retrying up to ${retries} times`),
        );
      }
      if (retries > 0 && failures > retries) {
        throw new ServerUnavailableError(
          `no reply from ${this.endpoint} after ${failures} attempts of ${timeout} ms; ` +
            "is the server running (deno task server) and reachable?",
        );
      }
      const backoff = Math.min(
        maxBackoff,
        50 * 2 ** Math.min(failures - 1, 10),
      );
      await new Promise((r) => setTimeout(r, backoff));
    }
  }

  /** Closes the socket and the context; pending exchanges end at once. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#context.close();
  }
}
