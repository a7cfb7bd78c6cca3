/**
 * The errors the `lib/zmq/` modules throw. They live apart from the sockets
 * so that `curve.ts` (whose ZAP handler stops on {@link ClosedError}) and the
 * FFI layer (which builds {@link ZmqError}) need not import `zmq.ts`.
 *
 * @module
 */

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
