/**
 * The client's side of REQ/REP, made to ride out server outages with the
 * "Lazy Pirate" pattern (ZeroMQ guide, chapter 4): every request has a
 * timeout; on timeout the REQ socket is closed and reopened (a REQ socket
 * that lost its reply is stuck otherwise) and the request is tried again
 * with backoff. An outage is reported once, and once when it is over.
 *
 * With `inFlight` above 1 it keeps that many REQ sockets, one request on
 * each, so one client can keep several server workers busy. Plain REQ
 * rather than one DEALER: each socket keeps REQ's lock-step (a reply can
 * only be the answer to that socket's last request) and its own Lazy Pirate
 * reset, and the server's ROUTER front needs nothing new.
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
  /** Requests that may be in flight at once, each on its own socket. Default 1. */
  inFlight?: number;
  /** CURVE encryption: the server's public key and this client's key pair. */
  curve?: { serverKey: CurveKey; publicKey: CurveKey; secretKey: CurveKey };
  /** Where outage notices go. Default `console.error`. */
  log?: (line: string) => void;
  /** Largest reply accepted, bytes. Default 64 MiB. */
  maxMessageSize?: number;
}

/** REQ connections to a facezmq server that survive server restarts. */
export class FrameClient {
  readonly endpoint: string;
  /** Requests that may be in flight at once. */
  readonly inFlight: number;
  #context = new Context();
  #idle: Socket[] = [];
  #busy = 0;
  #waiting: (() => void)[] = [];
  #options: FrameClientOptions;
  #log: (line: string) => void;
  #outageSince: number | null = null;
  #backAt = -Infinity;
  #closed = false;
  /** Number of times a socket was reopened after a timeout. */
  reconnects = 0;

  /** Connects (lazily: the server need not be up yet) to `endpoint`. */
  constructor(endpoint: string, options: FrameClientOptions = {}) {
    this.endpoint = endpoint;
    this.#options = options;
    this.inFlight = Math.max(1, Math.floor(options.inFlight ?? 1));
    this.#log = options.log ?? ((line) => console.error(line));
    // Connected now, so that the first frames find the connections made.
    for (let i = 0; i < this.inFlight; i++) this.#idle.push(this.#open());
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
   * Up to `inFlight` calls run at once; more wait for a free socket.
   */
  async exchange(
    build: () => Promise<Uint8Array[]> | Uint8Array[],
  ): Promise<Uint8Array[]> {
    const slot = { socket: await this.#acquire() };
    try {
      return await this.#attempts(build, slot);
    } finally {
      this.#release(slot.socket);
    }
  }

  /** The Lazy Pirate loop on `slot`, whose socket it replaces after a timeout. */
  async #attempts(
    build: () => Promise<Uint8Array[]> | Uint8Array[],
    slot: { socket: Socket },
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
      const sentAt = performance.now();
      try {
        await slot.socket.send(parts, { timeout });
        const reply = await slot.socket.receive({ timeout });
        if (this.#outageSince !== null) {
          const seconds = (performance.now() - this.#outageSince) / 1000;
          this.#log(
            `server at ${this.endpoint} is back (after ${
              seconds.toFixed(1)
            } s)`,
          );
          this.#outageSince = null;
          this.#backAt = performance.now();
        }
        return reply;
      } catch (error) {
        if (!(error instanceof TimeoutError)) throw error;
      }
      // Lazy Pirate: the REQ socket is stuck waiting for a lost reply.
      slot.socket.close();
      slot.socket = this.#open();
      this.reconnects++;
      failures++;
      // A request sent before the server came back belongs to the outage
      // already reported: its timeout is no new one.
      if (this.#outageSince === null && sentAt > this.#backAt) {
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

  async #acquire(): Promise<Socket> {
    while (this.#busy >= this.inFlight && !this.#closed) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    if (this.#closed) throw new ServerUnavailableError("the client was closed");
    this.#busy++;
    return this.#idle.pop() ?? this.#open();
  }

  #release(socket: Socket): void {
    this.#busy--;
    if (this.#closed) socket.close();
    else this.#idle.push(socket);
    this.#waiting.shift()?.();
  }

  /** Closes the sockets and the context; pending exchanges end at once. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiting.splice(0)) wake();
    await this.#context.close();
  }
}
