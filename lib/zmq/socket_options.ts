/**
 * The options a socket is created with ({@link SocketOptions}) and the table
 * that turns them into `zmq_setsockopt` calls: one row per libzmq option,
 * in the style of zeromq.js's `defineOpt(...)`. Adding an option is a field
 * in {@link SocketOptions} plus a row in {@link SOCKET_OPTIONS}; the loop in
 * {@link applySocketOptions} does the rest.
 *
 * @module
 */

import { requireCurve } from "./_ffi.ts";
import { type CurveKey, curveKeyBytes } from "./curve.ts";

/** Options applied when a socket is created. */
export interface SocketOptions {
  /** ZMQ_LINGER in ms (default 0: pending messages are dropped on close). */
  linger?: number;
  /**
   * ZMQ_MAXMSGSIZE in bytes: a peer that sends a larger message is
   * disconnected before it can make this socket allocate it. -1 = no limit.
   */
  maxMessageSize?: number;
  /** Default timeout of `Socket.send` in ms (-1 = wait forever, the default). */
  sendTimeout?: number;
  /** Default timeout of `Socket.receive` in ms (-1 = wait forever, the default). */
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

/**
 * Where a row finds its value in {@link SocketOptions}: a field, or a field
 * of `curveServer` / `curveClient`. The timeouts are not here: they are this
 * library's waits, not libzmq options.
 */
export type SocketOptionName =
  | Exclude<
    keyof SocketOptions,
    "sendTimeout" | "receiveTimeout" | "curveClient"
  >
  | `curveServer.${keyof NonNullable<SocketOptions["curveServer"]>}`
  | `curveClient.${keyof NonNullable<SocketOptions["curveClient"]>}`;

/**
 * How a row's value becomes the bytes `zmq_setsockopt` takes:
 * `int32` a C int; `int64` an int64_t; `bool` a C int 0 or 1; `flag` the C
 * int 1 when the value is truthy, nothing otherwise; `bytes` UTF-8 text or
 * raw bytes; `bytes[]` one call per element; `curveKey` the 32 bytes of a key
 * given as Z85 text or bytes, length and alphabet checked.
 */
export type SocketOptionType =
  | "int32"
  | "int64"
  | "bool"
  | "flag"
  | "bytes"
  | "bytes[]"
  | "curveKey";

/** One row of {@link SOCKET_OPTIONS}. */
export interface SocketOptionRow {
  /** The value's place in {@link SocketOptions}; also its name in errors. */
  name: SocketOptionName;
  /** The ZMQ_* number from zmq.h (libzmq 4.3). */
  id: number;
  /** How the value is encoded. */
  type: SocketOptionType;
  /** The value used when the option is not given. */
  default?: number;
  /** Throws if the option cannot be used with these options or this libzmq. */
  check?: (options: SocketOptions) => void;
}

// Socket option numbers from zmq.h (libzmq 4.3).
const ZMQ_ROUTING_ID = 5;
const ZMQ_SUBSCRIBE = 6;
const ZMQ_LINGER = 17;
const ZMQ_RECONNECT_IVL = 18;
const ZMQ_MAXMSGSIZE = 22;
const ZMQ_SNDHWM = 23;
const ZMQ_RCVHWM = 24;
const ZMQ_IMMEDIATE = 39;
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

/** A CURVE option needs a libzmq with CURVE, and a socket is one side only. */
function checkCurve(options: SocketOptions): void {
  requireCurve(
    "set LIBZMQ to a libzmq built with CURVE, or run `deno install` " +
      "to get npm:zeromq's",
  );
  if (options.curveServer && options.curveClient) {
    throw new Error("a socket cannot be both curveServer and curveClient");
  }
}

function defineOpt(
  name: SocketOptionName,
  id: number,
  type: SocketOptionType,
  extra: Pick<SocketOptionRow, "default" | "check"> = {},
): SocketOptionRow {
  return { name, id, type, ...extra };
}

/**
 * Every libzmq option a socket can be created with, applied in this order.
 * The CURVE rows come last so that a CURVE failure is reported after the
 * plain options were accepted, and `curveServer` (ZMQ_CURVE_SERVER) precedes
 * its secret key as libzmq expects.
 */
export const SOCKET_OPTIONS: readonly SocketOptionRow[] = [
  defineOpt("linger", ZMQ_LINGER, "int32", { default: 0 }),
  defineOpt("maxMessageSize", ZMQ_MAXMSGSIZE, "int64"),
  defineOpt("sendHighWaterMark", ZMQ_SNDHWM, "int32"),
  defineOpt("receiveHighWaterMark", ZMQ_RCVHWM, "int32"),
  defineOpt("immediate", ZMQ_IMMEDIATE, "bool"),
  defineOpt("conflate", ZMQ_CONFLATE, "bool"),
  defineOpt("routingId", ZMQ_ROUTING_ID, "bytes"),
  defineOpt("subscribe", ZMQ_SUBSCRIBE, "bytes[]"),
  defineOpt("reqRelaxed", ZMQ_REQ_RELAXED, "flag"),
  defineOpt("reqRelaxed", ZMQ_REQ_CORRELATE, "flag"),
  defineOpt("reconnectInterval", ZMQ_RECONNECT_IVL, "int32"),
  defineOpt("heartbeatInterval", ZMQ_HEARTBEAT_IVL, "int32"),
  defineOpt("heartbeatTimeout", ZMQ_HEARTBEAT_TIMEOUT, "int32"),
  defineOpt("zapDomain", ZMQ_ZAP_DOMAIN, "bytes"),
  defineOpt("curveServer", ZMQ_CURVE_SERVER, "flag", { check: checkCurve }),
  defineOpt("curveServer.secretKey", ZMQ_CURVE_SECRETKEY, "curveKey", {
    check: checkCurve,
  }),
  defineOpt("curveClient.serverKey", ZMQ_CURVE_SERVERKEY, "curveKey", {
    check: checkCurve,
  }),
  defineOpt("curveClient.publicKey", ZMQ_CURVE_PUBLICKEY, "curveKey", {
    check: checkCurve,
  }),
  defineOpt("curveClient.secretKey", ZMQ_CURVE_SECRETKEY, "curveKey", {
    check: checkCurve,
  }),
];

const encoder = new TextEncoder();

function int32(value: number): Uint8Array {
  return new Uint8Array(new Int32Array([value]).buffer);
}

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

const ENCODE: Readonly<
  Record<SocketOptionType, (value: unknown, name: string) => Uint8Array[]>
> = {
  int32: (value) => [int32(value as number)],
  int64: (value) => [
    new Uint8Array(new BigInt64Array([BigInt(value as number)]).buffer),
  ],
  bool: (value) => [int32(value ? 1 : 0)],
  flag: (value) => value ? [int32(1)] : [],
  bytes: (value) => [bytesOf(value as string | Uint8Array)],
  "bytes[]": (value) => (value as Array<string | Uint8Array>).map(bytesOf),
  curveKey: (value, name) => [curveKeyBytes(value as CurveKey, name)],
};

function valueAt(options: SocketOptions, name: SocketOptionName): unknown {
  let value: unknown = options;
  for (const key of name.split(".")) {
    value = (value as Record<string, unknown> | null | undefined)?.[key];
  }
  return value;
}

/**
 * Walks {@link SOCKET_OPTIONS} and calls `set` with each given option's
 * number, encoded value and name (`set` is `zmq_setsockopt` on one socket).
 * Throws on the first option that fails its check or encoding.
 */
export function applySocketOptions(
  options: SocketOptions,
  set: (id: number, value: Uint8Array, name: string) => void,
): void {
  for (const row of SOCKET_OPTIONS) {
    const value = valueAt(options, row.name) ?? row.default;
    if (value === undefined) continue;
    row.check?.(options);
    for (const bytes of ENCODE[row.type](value, row.name)) {
      set(row.id, bytes, row.name);
    }
  }
}
