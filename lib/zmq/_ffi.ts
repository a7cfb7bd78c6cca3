/**
 * The binding to libzmq's C API: which library is loaded, the FFI symbol
 * table, the zmq.h numbers the other `lib/zmq/` modules share, and turning
 * `zmq_errno` into a {@link ZmqError}. Private to `lib/zmq/`; `zmq.ts`
 * re-exports the three public questions ({@link libraryPath},
 * {@link version}, {@link has}).
 *
 * The JavaScript layer of npm:zeromq does not work under Deno, so libzmq is
 * called directly with `Deno.dlopen`. The library is looked up in this
 * order: `$LIBZMQ`; the prebuilt addons shipped with npm:zeromq in the
 * project's `node_modules` (they export the whole `zmq_*` API); the system's
 * libzmq. A library with CURVE support is preferred.
 *
 * @module
 */

import { ZmqError } from "./errors.ts";

// Numbers from zmq.h (libzmq 4.3) used by more than one module or by the
// I/O loop. Socket option numbers live in their table (socket_options.ts).

/** Flag of `zmq_send` / `zmq_msg_recv`: fail with EAGAIN instead of waiting. */
export const ZMQ_DONTWAIT = 1;
/** Flag of `zmq_send`: more parts of this message follow. */
export const ZMQ_SNDMORE = 2;
/** `zmq_poll` event: a message can be received. */
export const ZMQ_POLLIN = 1;
/** `zmq_poll` event: a message can be queued. */
export const ZMQ_POLLOUT = 2;

const ZMQ_HAUSNUMERO = 156384712;
/** errno: the context was terminated. */
export const ETERM = ZMQ_HAUSNUMERO + 53;
/** errno: interrupted by a signal; retry. */
export const EINTR = 4;
/** errno: would block (the platform's value). */
export const EAGAIN = Deno.build.os === "darwin" ? 35 : 11;

/** zmq_msg_t is an opaque 64-byte, 8-byte-aligned structure. */
export const MSG_T_SIZE = 64;
/** Size of zmq_pollitem_t: { void *socket; fd; short events; short revents; }. */
export const POLLITEM_SIZE = Deno.build.os === "windows" ? 24 : 16;
/** Offset of `events` in zmq_pollitem_t (`revents` follows it). */
export const POLLITEM_EVENTS = Deno.build.os === "windows" ? 16 : 12;

// Deno.dlopen cannot check these against the C headers: a wrong parameter
// type here is memory corruption, not an error, so each signature is written
// once, here, next to its siblings.
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
  // The same C function, run on Deno's blocking pool so waiting never
  // blocks the event loop.
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

/** The loaded library's functions, typed by the symbol table. */
export type Symbols = Library["symbols"];

let loaded: { lib: Library; path: string } | null = null;

const encoder = new TextEncoder();

/** `text` as a NUL-terminated C string. */
export function cString(text: string): Uint8Array {
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

/** The message of anything thrown. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstLine(text: string): string {
  return text.split("\n")[0];
}

/** libzmq's functions; loads the library on first use. */
export function symbols(): Symbols {
  return loadLibrary().lib.symbols;
}

/** The errno of the last failed call on this thread, and libzmq's text for it. */
export function lastError(): { errno: number; text: string } {
  const zmq = symbols();
  const errno = zmq.zmq_errno();
  const pointer = zmq.zmq_strerror(errno);
  const text = pointer
    ? Deno.UnsafePointerView.getCString(pointer)
    : `errno ${errno}`;
  return { errno, text };
}

/** A {@link ZmqError} for the call that just failed, named `call` in the message. */
export function failure(call: string): ZmqError {
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

/**
 * Throws unless the loaded libzmq has CURVE; `fix` is appended to the
 * message (what the user can do about it).
 */
export function requireCurve(fix: string): void {
  if (!has("curve")) {
    throw new Error(
      `the loaded libzmq (${libraryPath()}) has no CURVE support; ${fix}`,
    );
  }
}
