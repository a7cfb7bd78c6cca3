/**
 * ZeroMQ for Deno: contexts, sockets and a proxy, on libzmq's C API through
 * FFI (see `_ffi.ts` for how the library is found; `socket_options.ts` for
 * what a socket can be created with; `curve.ts` for keys and ZAP;
 * `monitor.ts` for monitor events; `errors.ts` for what is thrown).
 *
 * Waiting never blocks the event loop: a receive (or a send that cannot be
 * queued yet) waits with `zmq_poll` on Deno's blocking thread pool in short
 * slices, then does the actual transfer with `ZMQ_DONTWAIT` on the main
 * thread. `close()` is therefore immediate: the pending promise rejects with
 * {@link ClosedError} at once and the socket is really closed when the
 * current slice ends (at most {@link POLL_SLICE_MS} later).
 *
 * A zmq socket is not thread-safe, so each {@link Socket} allows one pending
 * operation (send, receive or proxy) at a time and throws otherwise.
 *
 * @module
 */

import {
  cString,
  EAGAIN,
  EINTR,
  ETERM,
  failure,
  lastError,
  MSG_T_SIZE,
  POLLITEM_EVENTS,
  POLLITEM_SIZE,
  symbols,
  ZMQ_DONTWAIT,
  ZMQ_POLLIN,
  ZMQ_POLLOUT,
  ZMQ_SNDMORE,
} from "./_ffi.ts";
import { ClosedError, TimeoutError, ZmqError } from "./errors.ts";
import { applySocketOptions, type SocketOptions } from "./socket_options.ts";

// _ffi.ts is private to lib/zmq/; these three questions are its public face.
export { has, libraryPath, version } from "./_ffi.ts";

/** The kinds of socket this module creates. */
export type SocketType =
  | "PAIR"
  | "PUB"
  | "SUB"
  | "REQ"
  | "REP"
  | "DEALER"
  | "ROUTER"
  | "PULL"
  | "PUSH";

/** Per-call options of {@link Socket.send} and {@link Socket.receive}. */
export interface TransferOptions {
  /** Timeout in ms; -1 waits forever. Defaults to the socket's option. */
  timeout?: number;
}

/** Options of {@link proxy}. */
export interface ProxyOptions {
  /** Aborting stops the proxy; its promise then resolves. */
  signal?: AbortSignal;
}

/** Longest single `zmq_poll` wait in ms: bounds how late a close takes effect. */
export const POLL_SLICE_MS = 50;

// Numbers from zmq.h (libzmq 4.3) used only here.
const SOCKET_TYPES: Record<SocketType, number> = {
  PAIR: 0,
  PUB: 1,
  SUB: 2,
  REQ: 3,
  REP: 4,
  DEALER: 5,
  ROUTER: 6,
  PULL: 7,
  PUSH: 8,
};
const ZMQ_LAST_ENDPOINT = 32;
const ZMQ_MECHANISM = 43;
const ZMQ_BLOCKY = 70;
const MECHANISMS = ["NULL", "PLAIN", "CURVE", "GSSAPI"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------------------
// Context and sockets.

/** A libzmq context: owns sockets, its I/O thread and the ZAP endpoint. */
export class Context {
  #handle: Deno.PointerValue;
  #owned: boolean;
  #sockets = new Set<Socket>();
  #closing: Promise<void> | null = null;

  /**
   * Creates a context (loads libzmq on first use), or with `shared` uses a
   * context that another thread of this process created (see
   * {@link Context.shared}).
   */
  constructor(options: { shared?: bigint } = {}) {
    const zmq = symbols();
    if (options.shared !== undefined) {
      this.#handle = Deno.UnsafePointer.create(options.shared);
      if (this.#handle === null) {
        throw new Error("Context: null shared context address");
      }
      this.#owned = false;
      return;
    }
    this.#handle = zmq.zmq_ctx_new();
    if (this.#handle === null) throw failure("zmq_ctx_new");
    this.#owned = true;
    // Do not let zmq_ctx_term wait for unsent messages.
    zmq.zmq_ctx_set(this.#handle, ZMQ_BLOCKY, 0);
  }

  /**
   * The address of this context, to share it with a Worker thread of the
   * same process ({@link Context.shared}), so that both can use `inproc://`
   * endpoints: zero-copy, no TCP between threads.
   */
  get address(): bigint {
    return BigInt(Deno.UnsafePointer.value(this.#handle));
  }

  /**
   * A context created by another thread of this process (its
   * {@link Context.address}). Closing it closes only the sockets made here;
   * the owner terminates the context, after this thread has closed them.
   */
  static shared(address: bigint): Context {
    return new Context({ shared: address });
  }

  /** True once {@link Context.close} was called. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Creates a socket of `type` with `options` applied (LINGER 0 by default). */
  socket(type: SocketType, options: SocketOptions = {}): Socket {
    if (this.#closing) throw new ClosedError("the zmq context is closed");
    const code = SOCKET_TYPES[type];
    if (code === undefined) throw new Error(`unknown socket type ${type}`);
    const handle = symbols().zmq_socket(this.#handle, code);
    if (handle === null) throw failure(`zmq_socket(${type})`);
    const socket = new Socket(this, handle, type, options, (s) => {
      this.#sockets.delete(s);
    });
    this.#sockets.add(socket);
    return socket;
  }

  /**
   * Closes every socket of this context (pending operations reject with
   * {@link ClosedError} at once) and terminates the context. The promise
   * resolves when libzmq has released everything; calling again returns it.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const sockets = [...this.#sockets];
    for (const socket of sockets) socket.close();
    this.#closing = Promise.all(sockets.map((s) => s.released)).then(
      async () => {
        // Every socket is closed and lingers 0, so this returns promptly.
        if (this.#owned) await symbols().zmq_ctx_term(this.#handle);
      },
    );
    return this.#closing;
  }
}

interface Operation {
  kind: string;
  abort: (error: Error) => void;
}

/** A zmq socket; create it with {@link Context.socket}. */
export class Socket {
  /** The socket type it was created with. */
  readonly type: SocketType;
  /** The context that created this socket. */
  readonly context: Context;
  /** Resolves once the underlying zmq socket is really closed. */
  readonly released: Promise<void>;
  #handle: Deno.PointerValue;
  #closed = false;
  #released = false;
  #operation: Operation | null = null;
  #endpoints: string[] = [];
  #sendTimeout: number;
  #receiveTimeout: number;
  // An explicit ArrayBuffer is never on the V8 heap, so its address is
  // stable while a pool thread polls with it.
  #pollItem = new Uint8Array(new ArrayBuffer(POLLITEM_SIZE));
  #pollItemPointer: Deno.PointerValue;
  #message = new Uint8Array(new ArrayBuffer(MSG_T_SIZE));
  #resolveReleased!: () => void;
  #onRelease: (socket: Socket) => void;

  /** Internal: use {@link Context.socket}. */
  constructor(
    context: Context,
    handle: Deno.PointerValue,
    type: SocketType,
    options: SocketOptions,
    onRelease: (socket: Socket) => void,
  ) {
    this.#handle = handle;
    this.context = context;
    this.type = type;
    this.#onRelease = onRelease;
    this.released = new Promise((resolve) => this.#resolveReleased = resolve);
    this.#sendTimeout = options.sendTimeout ?? -1;
    this.#receiveTimeout = options.receiveTimeout ?? -1;
    new DataView(this.#pollItem.buffer).setBigUint64(
      0,
      BigInt(Deno.UnsafePointer.value(handle)),
      true,
    );
    this.#pollItemPointer = Deno.UnsafePointer.of(this.#pollItem);
    try {
      applySocketOptions(
        options,
        (id, value, name) => this.#setBytes(id, value, name),
      );
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #setBytes(option: number, value: Uint8Array, name: string): void {
    const rc = symbols().zmq_setsockopt(
      this.#handle,
      option,
      value,
      BigInt(value.length),
    );
    if (rc !== 0) throw failure(`zmq_setsockopt(${name}) on ${this.type}`);
  }

  /** True once {@link Socket.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The endpoints this socket was bound or connected to, for messages. */
  get endpoints(): readonly string[] {
    return this.#endpoints;
  }

  /**
   * ZMQ_LAST_ENDPOINT: the endpoint of the last bind or connect, with the
   * real port when bound to port 0 (e.g. "tcp://127.0.0.1:43817").
   */
  get lastEndpoint(): string {
    this.#checkOpen("lastEndpoint");
    const value = new Uint8Array(1024);
    const size = new BigUint64Array([BigInt(value.length)]);
    const rc = symbols().zmq_getsockopt(
      this.#handle,
      ZMQ_LAST_ENDPOINT,
      value,
      new Uint8Array(size.buffer),
    );
    if (rc !== 0) throw failure(`zmq_getsockopt(LAST_ENDPOINT)`);
    const length = Number(size[0]);
    return decoder.decode(value.subarray(0, Math.max(0, length - 1)));
  }

  /** The security mechanism in use: "NULL", "PLAIN", "CURVE" or "GSSAPI". */
  get mechanism(): string {
    this.#checkOpen("mechanism");
    const value = new Int32Array(1);
    const size = new BigUint64Array([4n]);
    const rc = symbols().zmq_getsockopt(
      this.#handle,
      ZMQ_MECHANISM,
      new Uint8Array(value.buffer),
      new Uint8Array(size.buffer),
    );
    if (rc !== 0) throw failure(`zmq_getsockopt(MECHANISM)`);
    return MECHANISMS[value[0]] ?? String(value[0]);
  }

  /**
   * Starts libzmq's monitor on this socket (`zmq_socket_monitor`): the
   * events in `events` (a mask of `MONITOR_EVENTS` from `monitor.ts`) are
   * sent to a PAIR socket bound at the inproc `endpoint`. Connect a PAIR
   * socket of the same context there and read them with `parseMonitorEvent`.
   */
  monitor(endpoint: string, events: number): void {
    this.#checkOpen("monitor");
    const rc = symbols().zmq_socket_monitor(
      this.#handle,
      cString(endpoint),
      events,
    );
    if (rc !== 0) throw failure(`zmq_socket_monitor(${endpoint})`);
  }

  /** Binds to `endpoint` ("tcp://127.0.0.1:0" picks a free port, see {@link Socket.lastEndpoint}). */
  bind(endpoint: string): void {
    this.#checkOpen(`bind(${endpoint})`);
    if (symbols().zmq_bind(this.#handle, cString(endpoint)) !== 0) {
      throw failure(`zmq_bind(${endpoint}) on ${this.type}`);
    }
    this.#endpoints.push(endpoint);
  }

  /** Connects to `endpoint` (returns at once; libzmq connects in the background). */
  connect(endpoint: string): void {
    this.#checkOpen(`connect(${endpoint})`);
    if (symbols().zmq_connect(this.#handle, cString(endpoint)) !== 0) {
      throw failure(`zmq_connect(${endpoint}) on ${this.type}`);
    }
    this.#endpoints.push(endpoint);
  }

  /**
   * Sends one multipart message. Resolves once libzmq has queued every part
   * (the data is copied, so the arrays may be reused at once). Throws
   * {@link TimeoutError} if it cannot be queued in time (e.g. a REQ socket
   * with no peer, or the high-water mark reached).
   */
  send(parts: Uint8Array[], options: TransferOptions = {}): Promise<void> {
    if (parts.length === 0) {
      return Promise.reject(
        new Error("send needs at least one message part"),
      );
    }
    const timeout = options.timeout ?? this.#sendTimeout;
    return this.#run("send", async () => {
      const deadline = deadlineOf(timeout);
      const zmq = symbols();
      for (let i = 0; i < parts.length; i++) {
        const part = parts[i];
        const flags = ZMQ_DONTWAIT | (i < parts.length - 1 ? ZMQ_SNDMORE : 0);
        while (
          zmq.zmq_send(this.#handle, part, BigInt(part.length), flags) < 0
        ) {
          const { errno, text } = lastError();
          if (errno !== EAGAIN && errno !== EINTR) {
            throw new ZmqError(
              `zmq_send on ${this.#describe()} failed: ${text}`,
              errno,
            );
          }
          await this.#wait(ZMQ_POLLOUT, deadline, timeout, "send");
        }
      }
    });
  }

  /**
   * Receives one multipart message, every part copied into a fresh
   * Uint8Array. Throws {@link TimeoutError} after `timeout` ms.
   */
  receive(options: TransferOptions = {}): Promise<Uint8Array[]> {
    const timeout = options.timeout ?? this.#receiveTimeout;
    return this.#run("receive", async () => {
      const deadline = deadlineOf(timeout);
      while (true) {
        const parts = this.#receiveNow();
        if (parts) return parts;
        await this.#wait(ZMQ_POLLIN, deadline, timeout, "receive");
      }
    });
  }

  /**
   * Closes the socket. Immediate: a pending send/receive rejects with
   * {@link ClosedError} now; libzmq's socket is closed as soon as the pending
   * wait slice returns ({@link Socket.released} resolves then).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#operation) {
      this.#operation.abort(
        new ClosedError(`${this.#describe()} was closed`),
      );
    } else {
      this.#release();
    }
  }

  /** Tries to take a whole message without waiting; null if none is ready. */
  #receiveNow(): Uint8Array[] | null {
    const zmq = symbols();
    const message = this.#message;
    const parts: Uint8Array[] = [];
    while (true) {
      zmq.zmq_msg_init(message);
      const size = zmq.zmq_msg_recv(message, this.#handle, ZMQ_DONTWAIT);
      if (size < 0) {
        const { errno, text } = lastError();
        zmq.zmq_msg_close(message);
        if (parts.length === 0 && (errno === EAGAIN || errno === EINTR)) {
          return null;
        }
        throw new ZmqError(
          `zmq_msg_recv on ${this.#describe()} failed: ${text}`,
          errno,
        );
      }
      const part = new Uint8Array(size);
      if (size > 0) {
        const data = zmq.zmq_msg_data(message);
        if (data === null) throw failure("zmq_msg_data");
        new Deno.UnsafePointerView(data).copyInto(part);
      }
      const more = zmq.zmq_msg_more(message) === 1;
      zmq.zmq_msg_close(message);
      parts.push(part);
      // The parts of a message arrive together, so the rest never waits.
      if (!more) return parts;
    }
  }

  /** Waits (off the main thread) until `events` are ready or time runs out. */
  async #wait(
    events: number,
    deadline: number,
    timeout: number,
    what: string,
  ): Promise<void> {
    const zmq = symbols();
    const view = new DataView(this.#pollItem.buffer);
    while (true) {
      if (this.#closed) {
        throw new ClosedError(`${this.#describe()} was closed`);
      }
      const remaining = deadline - performance.now();
      if (remaining <= 0) {
        throw new TimeoutError(
          `${what} timed out after ${timeout} ms on ${this.#describe()}`,
        );
      }
      view.setInt16(POLLITEM_EVENTS, events, true);
      view.setInt16(POLLITEM_EVENTS + 2, 0, true);
      const slice = Math.max(1, Math.ceil(Math.min(POLL_SLICE_MS, remaining)));
      const rc = await zmq.zmq_poll_wait(
        this.#pollItemPointer,
        1,
        BigInt(slice),
      );
      if (this.#closed) {
        throw new ClosedError(`${this.#describe()} was closed`);
      }
      if (rc < 0) {
        // errno lives on the pool thread; ask again here to learn why.
        view.setInt16(POLLITEM_EVENTS + 2, 0, true);
        if (zmq.zmq_poll(this.#pollItem, 1, 0n) < 0) {
          const { errno, text } = lastError();
          if (errno === EINTR) continue;
          if (errno === ETERM) {
            throw new ClosedError(
              `the context of ${this.#describe()} was closed`,
            );
          }
          throw new ZmqError(
            `zmq_poll on ${this.#describe()} failed: ${text}`,
            errno,
          );
        }
      }
      if ((view.getInt16(POLLITEM_EVENTS + 2, true) & events) !== 0) return;
    }
  }

  /** Runs one operation with the one-at-a-time guard and immediate abort. */
  #run<T>(kind: string, body: () => Promise<T>): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new ClosedError(`${kind} on ${this.#describe()}: socket is closed`),
      );
    }
    if (this.#operation) {
      return Promise.reject(
        new Error(
          `${kind} on ${this.#describe()} while a ${this.#operation.kind} is ` +
            "pending: a zmq socket allows one operation at a time (await it first)",
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      this.#operation = { kind, abort: reject };
      // Free the socket before the caller's continuation runs.
      body().then(
        (value) => {
          this.#finish();
          resolve(value);
        },
        (error) => {
          this.#finish();
          reject(error);
        },
      );
    });
  }

  /** @internal Marks the socket as used by a proxy; `abort` stops the proxy. */
  claim(kind: string, abort: (error: Error) => void): Deno.PointerValue {
    if (this.#closed) {
      throw new ClosedError(`${kind} on ${this.#describe()}: socket is closed`);
    }
    if (this.#operation) {
      throw new Error(
        `${kind} on ${this.#describe()} while a ${this.#operation.kind} is pending`,
      );
    }
    this.#operation = { kind, abort };
    return this.#handle;
  }

  /** @internal Ends the operation started with {@link Socket.claim}. */
  unclaim(): void {
    this.#finish();
  }

  #finish(): void {
    this.#operation = null;
    if (this.#closed) this.#release();
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    symbols().zmq_close(this.#handle);
    this.#onRelease(this);
    this.#resolveReleased();
  }

  #checkOpen(what: string): void {
    if (this.#closed) {
      throw new ClosedError(`${what} on ${this.#describe()}: socket is closed`);
    }
  }

  #describe(): string {
    return this.#endpoints.length
      ? `${this.type} socket (${this.#endpoints.join(", ")})`
      : `${this.type} socket`;
  }
}

function deadlineOf(timeout: number): number {
  return timeout < 0 ? Infinity : performance.now() + timeout;
}

let proxyCount = 0;

/**
 * Forwards messages between `frontend` and `backend` (e.g. ROUTER and
 * DEALER) with `zmq_proxy_steerable` on the blocking thread pool until
 * `options.signal` aborts or either socket (or its context) is closed; then
 * the promise resolves. Both sockets must come from the same context.
 */
export async function proxy(
  frontend: Socket,
  backend: Socket,
  options: ProxyOptions = {},
): Promise<void> {
  const context = frontend.context;
  if (backend.context !== context) {
    throw new Error("proxy: frontend and backend must share one context");
  }
  const endpoint = `inproc://facezmq-proxy-control-${++proxyCount}`;
  const control = context.socket("PAIR");
  const controller = context.socket("PAIR");
  control.bind(endpoint);
  controller.connect(endpoint);
  let terminated = false;
  function terminate(): void {
    if (terminated) return;
    terminated = true;
    const word = encoder.encode("TERMINATE");
    // The controller is claimed, so it is still open; inproc PAIR never waits.
    symbols().zmq_send(
      controllerHandle,
      word,
      BigInt(word.length),
      ZMQ_DONTWAIT,
    );
  }
  const claimed: Socket[] = [];
  let controllerHandle: Deno.PointerValue = null;
  try {
    controllerHandle = controller.claim("proxy", terminate);
    claimed.push(controller);
    const controlHandle = control.claim("proxy", terminate);
    claimed.push(control);
    const frontHandle = frontend.claim("proxy", terminate);
    claimed.push(frontend);
    const backHandle = backend.claim("proxy", terminate);
    claimed.push(backend);
    if (options.signal?.aborted) return;
    options.signal?.addEventListener("abort", terminate, { once: true });
    const rc = await symbols().zmq_proxy_steerable(
      frontHandle,
      backHandle,
      null,
      controlHandle,
    );
    if (rc !== 0 && !terminated && !context.closed) {
      throw new ZmqError(
        `zmq_proxy_steerable between ${frontend.endpoints.join(", ")} and ` +
          `${backend.endpoints.join(", ")} stopped unexpectedly`,
        -1,
      );
    }
  } finally {
    options.signal?.removeEventListener("abort", terminate);
    for (const socket of claimed) socket.unclaim();
    control.close();
    controller.close();
  }
}
