/**
 * libzmq's socket monitor events: the codes to ask `Socket.monitor` for and
 * the decoder of the messages it then sends to a PAIR socket.
 *
 * @module
 */

/** Socket monitor events (ZMQ_EVENT_*), for `Socket.monitor`. */
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

const decoder = new TextDecoder();

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
