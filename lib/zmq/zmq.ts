/**
 * ZeroMQ for Deno through FFI on libzmq's C API.
 *
 * The JavaScript layer of npm:zeromq does not work under Deno, so this module
 * calls libzmq directly with `Deno.dlopen`. The library is looked up in this
 * order: `$LIBZMQ`; the prebuilt addons shipped with npm:zeromq in the
 * project's `node_modules` (they export the whole `zmq_*` API); the system's
 * libzmq. A library with CURVE support is preferred.
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

/** A CURVE key: 40-character Z85 text or 32 raw bytes. */
export type CurveKey = string | Uint8Array;

/** Options applied when a socket is created. */
export interface SocketOptions {
  /** ZMQ_LINGER in ms (default 0: pending messages are dropped on close). */
  linger?: number;
  /**
   * ZMQ_MAXMSGSIZE in bytes: a peer that sends a larger message is
   * disconnected before it can make this socket allocate it. -1 = no limit.
   */
  maxMessageSize?: number;
  /** Default timeout of {@link Socket.send} in ms (-1 = wait forever, the default). */
  sendTimeout?: number;
  /** Default timeout of {@link Socket.receive} in ms (-1 = wait forever, the default). */
  receiveTimeout?: number;
  /** ZMQ_SNDHWM: messages queued per peer before sending waits. */
  sendHighWaterMark?: number;
  /** ZMQ_RCVHWM: messages queued per peer before the peer is throttled. */
  receiveHighWaterMark?: number;
  /** ZMQ_IMMEDIATE: queue messages only to completed connections. */
  immediate?: boolean;
  /** ZMQ_CONFLATE: keep only the last message (single-part messages only). */
  conflate?: boolean;
  /** ZMQ_ROUTING_ID: this socket's identity as seen by a ROUTER peer. */
  routingId?: string | Uint8Array;
  /** ZMQ_SUBSCRIBE prefixes for a SUB socket ("" = everything). */
  subscribe?: Array<string | Uint8Array>;
  /**
   * REQ only: ZMQ_REQ_RELAXED + ZMQ_REQ_CORRELATE, so a REQ socket can send a
   * new request after a reply timed out (late replies are discarded).
   */
  reqRelaxed?: boolean;
  /** ZMQ_RECONNECT_IVL in ms. */
  reconnectInterval?: number;
  /** ZMQ_HEARTBEAT_IVL in ms: send ZMTP pings to detect dead peers. */
  heartbeatInterval?: number;
  /** ZMQ_HEARTBEAT_TIMEOUT in ms: drop a peer that does not answer a ping. */
  heartbeatTimeout?: number;
  /** Make this socket a CURVE server with this secret key. */
  curveServer?: { secretKey: CurveKey };
  /** Make this socket a CURVE client of the server with public key `serverKey`. */
  curveClient?: {
    serverKey: CurveKey;
    publicKey: CurveKey;
    secretKey: CurveKey;
  };
  /** ZMQ_ZAP_DOMAIN: also authenticate NULL-mechanism peers through ZAP. */
  zapDomain?: string;
}

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

/** Socket monitor events (ZMQ_EVENT_*), for {@link Socket.monitor}. */
export const MONITOR_EVENTS = {
  connected: 0x0001,
  listening: 0x0008,
  accepted: 0x0020,
  closed: 0x0080,
  disconnected: 0x0200,
  handshakeFailedNoDetail: 0x0800,
  handshakeSucceeded: 0x1000,
  handshakeFailedProtocol: 0x2000,
  handshakeFailedAuth: 0x4000,
} as const;

/** One monitor event: its ZMQ_EVENT_* code, value and the socket's endpoint. */
export interface MonitorEvent {
  /** A {@link MONITOR_EVENTS} code. */
  event: number;
  /** The event's value (e.g. a ZMTP protocol error code for handshake failures). */
  value: number;
  /** The endpoint of the monitored socket the event concerns. */
  endpoint: string;
}

/** Decodes a monitor message (`[u16 event + u32 value, endpoint]`). */
export function parseMonitorEvent(parts: Uint8Array[]): MonitorEvent {
  if (parts.length !== 2 || parts[0].length !== 6) {
    throw new Error("not a zmq monitor event");
  }
  const view = new DataView(parts[0].buffer, parts[0].byteOffset, 6);
  return {
    event: view.getUint16(0, true),
    value: view.getUint32(2, true),
    endpoint: decoder.decode(parts[1]),
  };
}

/** Thrown when a send or receive did not complete before its timeout. */
export class TimeoutError extends Error {
  /** Creates the error with a message naming the call and endpoint. */
  constructor(message: string) {
    super(message);
    this.name = "TimeoutError";
  }
}

/** Thrown by an operation on a closed socket, or pending when it was closed. */
export class ClosedError extends Error {
  /** Creates the error with a message naming the socket. */
  constructor(message: string) {
    super(message);
    this.name = "ClosedError";
  }
}

/** A failed libzmq call: the message names the call, endpoint and reason. */
export class ZmqError extends Error {
  /** libzmq's errno for the failure. */
  readonly errno: number;
  /** Creates the error; `errno` is libzmq's error number. */
  constructor(message: string, errno: number) {
    super(message);
    this.name = "ZmqError";
    this.errno = errno;
  }
}

/** Longest single `zmq_poll` wait in ms: bounds how late a close takes effect. */
export const POLL_SLICE_MS = 50;

// ---------------------------------------------------------------------------
// Constants from zmq.h (libzmq 4.3).

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

const ZMQ_DONTWAIT = 1;
const ZMQ_SNDMORE = 2;
const ZMQ_POLLIN = 1;
const ZMQ_POLLOUT = 2;

const ZMQ_ROUTING_ID = 5;
const ZMQ_SUBSCRIBE = 6;
const ZMQ_LINGER = 17;
const ZMQ_RECONNECT_IVL = 18;
const ZMQ_MAXMSGSIZE = 22;
const ZMQ_SNDHWM = 23;
const ZMQ_RCVHWM = 24;
const ZMQ_LAST_ENDPOINT = 32;
const ZMQ_IMMEDIATE = 39;
const ZMQ_MECHANISM = 43;
const ZMQ_CURVE_SERVER = 47;
const ZMQ_CURVE_PUBLICKEY = 48;
const ZMQ_CURVE_SECRETKEY = 49;
const ZMQ_CURVE_SERVERKEY = 50;
const ZMQ_REQ_CORRELATE = 52;
const ZMQ_REQ_RELAXED = 53;
const ZMQ_CONFLATE = 54;
const ZMQ_ZAP_DOMAIN = 55;
const ZMQ_HEARTBEAT_IVL = 75;
const ZMQ_HEARTBEAT_TIMEOUT = 77;

const ZMQ_BLOCKY = 70;

const ZMQ_HAUSNUMERO = 156384712;
const ETERM = ZMQ_HAUSNUMERO + 53;
const EINTR = 4;
const EAGAIN = Deno.build.os === "darwin" ? 35 : 11;

/** zmq_msg_t is an opaque 64-byte, 8-byte-aligned structure. */
const MSG_T_SIZE = 64;
/** zmq_pollitem_t: { void *socket; fd; short events; short revents; }. */
const POLLITEM_SIZE = Deno.build.os === "windows" ? 24 : 16;
const POLLITEM_EVENTS = Deno.build.os === "windows" ? 16 : 12;

const MECHANISMS = ["NULL", "PLAIN", "CURVE", "GSSAPI"];

// ---------------------------------------------------------------------------
// Library loading.

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_has: { parameters: ["buffer"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_set: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  zmq_ctx_term: {
    parameters: ["pointer"],
    result: "i32",
    nonblocking: true,
  },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_setsockopt: {
    parameters: ["pointer", "i32", "buffer", "usize"],
    result: "i32",
  },
  zmq_getsockopt: {
    parameters: ["pointer", "i32", "buffer", "buffer"],
    result: "i32",
  },
  zmq_send: {
    parameters: ["pointer", "buffer", "usize", "i32"],
    result: "i32",
  },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32" },
  zmq_poll_wait: {
    name: "zmq_poll",
    parameters: ["pointer", "i32", "i64"],
    result: "i32",
    nonblocking: true,
  },
  zmq_proxy_steerable: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  zmq_socket_monitor: {
    parameters: ["pointer", "buffer", "i32"],
    result: "i32",
  },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_z85_encode: {
    parameters: ["buffer", "buffer", "usize"],
    result: "pointer",
  },
  zmq_z85_decode: { parameters: ["buffer", "buffer"], result: "pointer" },
} as const;

type Library = Deno.DynamicLibrary<typeof SYMBOLS>;

let loaded: { lib: Library; path: string } | null = null;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cString(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

function envLibzmq(): string | undefined {
  try {
    return Deno.env.get("LIBZMQ") || undefined;
  } catch {
    return undefined;
  }
}

function libraryHasCurve(lib: Library): boolean {
  return lib.symbols.zmq_has(cString("curve")) === 1;
}

/** The npm:zeromq addons for this platform, e.g. `.../linux/x64/node/<variant>/addon.node`. */
function npmAddonCandidates(): string[] {
  const base = new URL("../../node_modules/zeromq/build/", import.meta.url);
  if (base.protocol !== "file:") return [];
  const platform = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  const dir = new URL(`${platform}/${arch}/node/`, base);
  const found: string[] = [];
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) {
        found.push(decodeURIComponent(
          new URL(`${entry.name}/addon.node`, dir).pathname,
        ));
      }
    }
  } catch {
    return [];
  }
  // Release builds first (they are the newest), then the rest, each sorted.
  found.sort((a, b) => {
    const ra = a.includes("-Release") ? 0 : 1;
    const rb = b.includes("-Release") ? 0 : 1;
    return ra - rb || (a < b ? -1 : a > b ? 1 : 0);
  });
  if (Deno.build.os === "windows") {
    return found.map((p) => p.replace(/^\/([A-Za-z]:)/, "$1"));
  }
  return found;
}

function systemCandidates(): string[] {
  if (Deno.build.os === "darwin") {
    return [
      "libzmq.5.dylib",
      "/opt/homebrew/lib/libzmq.5.dylib",
      "/usr/local/lib/libzmq.5.dylib",
      "libzmq.dylib",
    ];
  }
  if (Deno.build.os === "windows") return ["libzmq.dll", "zmq.dll"];
  return ["libzmq.so.5", "libzmq.so"];
}

function loadLibrary(): { lib: Library; path: string } {
  if (loaded) return loaded;
  const tried: string[] = [];
  const fromEnv = envLibzmq();
  if (fromEnv) {
    try {
      loaded = { lib: Deno.dlopen(fromEnv, SYMBOLS), path: fromEnv };
      return loaded;
    } catch (error) {
      throw new Error(
        `cannot load libzmq from LIBZMQ=${fromEnv}: ${errorText(error)}\n` +
          "Point LIBZMQ at a libzmq 4.x shared library, or unset it to use " +
          "the one from npm:zeromq (run `deno install`).",
      );
    }
  }
  let fallback: { lib: Library; path: string } | null = null;
  for (const path of [...npmAddonCandidates(), ...systemCandidates()]) {
    let lib: Library;
    try {
      lib = Deno.dlopen(path, SYMBOLS);
    } catch (error) {
      tried.push(`${path}: ${firstLine(errorText(error))}`);
      continue;
    }
    if (libraryHasCurve(lib)) {
      fallback?.lib.close();
      loaded = { lib, path };
      return loaded;
    }
    tried.push(`${path}: loads, but without CURVE`);
    if (fallback) lib.close();
    else fallback = { lib, path };
  }
  if (fallback) {
    loaded = fallback;
    return loaded;
  }
  throw new Error(
    "cannot load libzmq. Tried:\n  " +
      (tried.length ? tried.join("\n  ") : "(no candidate found)") +
      "\nFix: run `deno install` in the project (npm:zeromq ships libzmq), " +
      "or install libzmq (Debian/Ubuntu: apt install libzmq5; macOS: " +
      "brew install zeromq), or set LIBZMQ=/path/to/libzmq.so",
  );
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

function symbols(): Library["symbols"] {
  return loadLibrary().lib.symbols;
}

function lastError(): { errno: number; text: string } {
  const zmq = symbols();
  const errno = zmq.zmq_errno();
  const pointer = zmq.zmq_strerror(errno);
  const text = pointer
    ? Deno.UnsafePointerView.getCString(pointer)
    : `errno ${errno}`;
  return { errno, text };
}

function failure(call: string): ZmqError {
  const { errno, text } = lastError();
  return new ZmqError(`${call} failed: ${text}`, errno);
}

/** The path (or bare name) of the libzmq that was loaded; loads it if needed. */
export function libraryPath(): string {
  return loadLibrary().path;
}

/** libzmq's version, e.g. "4.3.5". */
export function version(): string {
  const parts = new Int32Array(3);
  symbols().zmq_version(
    parts.subarray(0, 1),
    parts.subarray(1, 2),
    parts.subarray(2, 3),
  );
  return parts.join(".");
}

/** Whether libzmq was built with `capability` ("curve", "ipc", "draft", ...). */
export function has(capability: string): boolean {
  return symbols().zmq_has(cString(capability)) === 1;
}

// ---------------------------------------------------------------------------
// Z85 and CURVE key helpers.

/** Encodes bytes (length a multiple of 4) as Z85 text. */
export function z85Encode(data: Uint8Array): string {
  if (data.length % 4 !== 0) {
    throw new Error(
      `Z85 encoding needs a multiple of 4 bytes, got ${data.length}`,
    );
  }
  const out = new Uint8Array(data.length * 5 / 4 + 1);
  if (symbols().zmq_z85_encode(out, data, BigInt(data.length)) === null) {
    throw failure("zmq_z85_encode");
  }
  return decoder.decode(out.subarray(0, out.length - 1));
}

/** Decodes Z85 text; throws if it is not valid Z85 (length a multiple of 5). */
export function z85Decode(text: string): Uint8Array {
  if (
    text.length % 5 !== 0 ||
    !/^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]*$/.test(text)
  ) {
    throw new Error(
      `not valid Z85 text (length ${text.length}, must be a multiple of 5 ` +
        "using the Z85 alphabet)",
    );
  }
  const out = new Uint8Array(text.length * 4 / 5);
  if (symbols().zmq_z85_decode(out, cString(text)) === null) {
    throw new Error("not valid Z85 text");
  }
  return out;
}

/** Makes a new CURVE key pair, both keys as 40-character Z85 text. */
export function curveKeypair(): { publicKey: string; secretKey: string } {
  const zmq = symbols();
  if (!libraryHasCurve(loadLibrary().lib)) {
    throw new Error(
      `the loaded libzmq (${libraryPath()}) has no CURVE support; ` +
        "set LIBZMQ to a libzmq built with libsodium/tweetnacl",
    );
  }
  const publicKey = new Uint8Array(41);
  const secretKey = new Uint8Array(41);
  if (zmq.zmq_curve_keypair(publicKey, secretKey) !== 0) {
    throw failure("zmq_curve_keypair");
  }
  return {
    publicKey: decoder.decode(publicKey.subarray(0, 40)),
    secretKey: decoder.decode(secretKey.subarray(0, 40)),
  };
}

/** Derives the Z85 public key that belongs to a Z85 secret key. */
export function curvePublic(secretKey: string): string {
  if (secretKey.length !== 40) {
    throw new Error(
      `a CURVE secret key is 40 Z85 characters, got ${secretKey.length}`,
    );
  }
  z85Decode(secretKey);
  const publicKey = new Uint8Array(41);
  if (symbols().zmq_curve_public(publicKey, cString(secretKey)) !== 0) {
    throw failure("zmq_curve_public");
  }
  return decoder.decode(publicKey.subarray(0, 40));
}

function curveKeyBytes(key: CurveKey, what: string): Uint8Array {
  if (typeof key !== "string") {
    if (key.length !== 32) {
      throw new Error(
        `${what}: a raw CURVE key is 32 bytes, got ${key.length}`,
      );
    }
    return key;
  }
  if (key.length !== 40) {
    throw new Error(
      `${what}: a CURVE key is 40 Z85 characters, got ${key.length}`,
    );
  }
  try {
    return z85Decode(key);
  } catch (error) {
    throw new Error(`${what}: ${errorText(error)}`);
  }
}

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
      this.#applyOptions(options);
    } catch (error) {
      this.close();
      throw error;
    }
  }

  #applyOptions(options: SocketOptions): void {
    this.#setInt(ZMQ_LINGER, options.linger ?? 0, "linger");
    if (options.maxMessageSize !== undefined) {
      const value = new BigInt64Array([BigInt(options.maxMessageSize)]);
      this.#setBytes(
        ZMQ_MAXMSGSIZE,
        new Uint8Array(value.buffer),
        "maxMessageSize",
      );
    }
    if (options.sendHighWaterMark !== undefined) {
      this.#setInt(ZMQ_SNDHWM, options.sendHighWaterMark, "sendHighWaterMark");
    }
    if (options.receiveHighWaterMark !== undefined) {
      this.#setInt(
        ZMQ_RCVHWM,
        options.receiveHighWaterMark,
        "receiveHighWaterMark",
      );
    }
    if (options.immediate !== undefined) {
      this.#setInt(ZMQ_IMMEDIATE, options.immediate ? 1 : 0, "immediate");
    }
    if (options.conflate !== undefined) {
      this.#setInt(ZMQ_CONFLATE, options.conflate ? 1 : 0, "conflate");
    }
    if (options.routingId !== undefined) {
      this.#setBytes(ZMQ_ROUTING_ID, bytesOf(options.routingId), "routingId");
    }
    for (const prefix of options.subscribe ?? []) {
      this.#setBytes(ZMQ_SUBSCRIBE, bytesOf(prefix), "subscribe");
    }
    if (options.reqRelaxed) {
      this.#setInt(ZMQ_REQ_RELAXED, 1, "reqRelaxed");
      this.#setInt(ZMQ_REQ_CORRELATE, 1, "reqRelaxed");
    }
    if (options.reconnectInterval !== undefined) {
      this.#setInt(
        ZMQ_RECONNECT_IVL,
        options.reconnectInterval,
        "reconnectInterval",
      );
    }
    if (options.heartbeatInterval !== undefined) {
      this.#setInt(
        ZMQ_HEARTBEAT_IVL,
        options.heartbeatInterval,
        "heartbeatInterval",
      );
    }
    if (options.heartbeatTimeout !== undefined) {
      this.#setInt(
        ZMQ_HEARTBEAT_TIMEOUT,
        options.heartbeatTimeout,
        "heartbeatTimeout",
      );
    }
    if (options.zapDomain !== undefined) {
      this.#setBytes(
        ZMQ_ZAP_DOMAIN,
        encoder.encode(options.zapDomain),
        "zapDomain",
      );
    }
    if ((options.curveServer || options.curveClient) && !has("curve")) {
      throw new Error(
        `the loaded libzmq (${libraryPath()}) has no CURVE support; ` +
          "set LIBZMQ to a libzmq built with CURVE, or run `deno install` " +
          "to get npm:zeromq's",
      );
    }
    if (options.curveServer && options.curveClient) {
      throw new Error("a socket cannot be both curveServer and curveClient");
    }
    if (options.curveServer) {
      this.#setInt(ZMQ_CURVE_SERVER, 1, "curveServer");
      this.#setBytes(
        ZMQ_CURVE_SECRETKEY,
        curveKeyBytes(options.curveServer.secretKey, "curveServer.secretKey"),
        "curveServer.secretKey",
      );
    }
    if (options.curveClient) {
      const { serverKey, publicKey, secretKey } = options.curveClient;
      this.#setBytes(
        ZMQ_CURVE_SERVERKEY,
        curveKeyBytes(serverKey, "curveClient.serverKey"),
        "curveClient.serverKey",
      );
      this.#setBytes(
        ZMQ_CURVE_PUBLICKEY,
        curveKeyBytes(publicKey, "curveClient.publicKey"),
        "curveClient.publicKey",
      );
      this.#setBytes(
        ZMQ_CURVE_SECRETKEY,
        curveKeyBytes(secretKey, "curveClient.secretKey"),
        "curveClient.secretKey",
      );
    }
  }

  #setInt(option: number, value: number, name: string): void {
    this.#setBytes(
      option,
      new Uint8Array(new Int32Array([value]).buffer),
      name,
    );
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
   * events in `events` (a mask of {@link MONITOR_EVENTS}) are sent to a PAIR
   * socket bound at the inproc `endpoint`. Connect a PAIR socket of the same
   * context there and read them with {@link parseMonitorEvent}.
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

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
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
