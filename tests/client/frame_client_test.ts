import assert from "node:assert/strict";
import {
  FrameClient,
  type FrameClientOptions,
  ServerUnavailableError,
} from "../../lib/client/frame_client.ts";
import { Context, type Socket } from "../../lib/zmq/zmq.ts";
import { ClosedError } from "../../lib/zmq/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

function texts(parts: Uint8Array[]): string[] {
  return parts.map((part) => decoder.decode(part));
}

/** A loopback endpoint where nothing listens (a port just freed). */
function deadEndpoint(): string {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return `tcp://127.0.0.1:${port}`;
}

/**
 * Runs `body` with a REP socket bound on loopback as the server and a
 * FrameClient with `options` connected to it; closes both afterwards.
 */
async function withServer(
  options: FrameClientOptions,
  body: (server: Socket, client: FrameClient) => Promise<void>,
): Promise<void> {
  const context = new Context();
  let client: FrameClient | undefined;
  try {
    const server = context.socket("REP");
    server.bind("tcp://127.0.0.1:*");
    client = new FrameClient(server.lastEndpoint, options);
    await body(server, client);
  } finally {
    await client?.close();
    await context.close();
  }
}

/** The error `exchange` rejects with; fails the test if it resolves. */
function rejectionOf(exchange: Promise<unknown>): Promise<unknown> {
  return exchange.then(
    () => assert.fail("exchange resolved without a server"),
    (error: unknown) => error,
  );
}

/** Resolves with `promise`'s outcome, or rejects if it takes over `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`still pending after ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a normal exchange returns the server's reply and needs no reconnect", async () => {
  const lines: string[] = [];
  await withServer({
    timeout: 2000,
    retries: 1,
    log: (line) => lines.push(line),
  }, async (server, client) => {
    const served = (async () => {
      const request = await server.receive({ timeout: 5000 });
      await server.send([text("reply"), ...request], { timeout: 5000 });
      return request;
    })();
    let builds = 0;
    const reply = await client.exchange(() => {
      builds++;
      return [text("hello"), new Uint8Array([0, 1, 2, 255])];
    });
    const request = await served;
    assert.equal(request.length, 2);
    assert.equal(decoder.decode(request[0]), "hello");
    assert.deepEqual([...request[1]], [0, 1, 2, 255]);
    assert.equal(reply.length, 3);
    assert.equal(decoder.decode(reply[0]), "reply");
    assert.deepEqual([...reply[2]], [0, 1, 2, 255]);
    assert.equal(builds, 1);
    assert.equal(client.reconnects, 0);
    assert.equal(client.inOutage, false);
    assert.deepEqual(lines, []);
  });
});

Deno.test("a request the server drops is retried on a new socket with newly built parts", async () => {
  const lines: string[] = [];
  await withServer({
    timeout: 200,
    retries: 3,
    log: (line) => lines.push(line),
  }, async (server, client) => {
    let retryBuilt!: () => void;
    const secondBuild = new Promise<void>((resolve) => retryBuilt = resolve);
    const seen: string[][] = [];
    const served = (async () => {
      // First request: received, never answered while the client waits.
      seen.push(texts(await server.receive({ timeout: 5000 })));
      // The client has given up on it and closed that socket before it
      // builds the retry, so this reply goes to a dead connection.
      await secondBuild;
      await server.send([text("stale")], { timeout: 5000 });
      const retry = await server.receive({ timeout: 5000 });
      seen.push(texts(retry));
      await server.send([text("fresh"), retry[0]], { timeout: 5000 });
    })();
    let builds = 0;
    const reply = await client.exchange(() => {
      builds++;
      if (builds === 2) retryBuilt();
      return [text(`attempt ${builds}`), text("frame")];
    });
    await served;
    assert.deepEqual(texts(reply), ["fresh", "attempt 2"]);
    assert.equal(builds, 2);
    assert.deepEqual(seen, [["attempt 1", "frame"], ["attempt 2", "frame"]]);
    assert.equal(client.reconnects, 1);
    assert.equal(client.inOutage, false);
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(
      lines[0],
      /^server at tcp:\/\/127\.0\.0\.1:\d+ is not answering \(no reply within 200 ms\); retrying up to 3 times$/,
    );
    assert.match(
      lines[1],
      /^server at tcp:\/\/127\.0\.0\.1:\d+ is back \(after \d+\.\d s\)$/,
    );
  });
});

Deno.test("with retries 2 and no server, exchange gives up after 3 attempts with a clear error", async () => {
  const endpoint = deadEndpoint();
  const lines: string[] = [];
  const client = new FrameClient(endpoint, {
    timeout: 200,
    retries: 2,
    maxBackoff: 50,
    log: (line) => lines.push(line),
  });
  try {
    let builds = 0;
    const error = await rejectionOf(client.exchange(() => {
      builds++;
      return [text("anyone?")];
    }));
    assert.ok(error instanceof ServerUnavailableError, String(error));
    assert.equal(error.name, "ServerUnavailableError");
    assert.equal(
      error.message,
      `no reply from ${endpoint} after 3 attempts of 200 ms; ` +
        "is the server running (deno task server) and reachable?",
    );
    assert.equal(builds, 3);
    assert.equal(client.reconnects, 3);
    assert.equal(client.inOutage, true);
    assert.deepEqual(lines, [
      `server at ${endpoint} is not answering (no reply within 200 ms); retrying up to 2 times`,
    ]);
  } finally {
    await client.close();
  }
});

Deno.test("close() ends an exchange waiting for a reply", async () => {
  // A reply timeout far longer than the guard below: only close() can end
  // this exchange in time.
  await withServer(
    { timeout: 60_000, log: () => {} },
    async (server, client) => {
      const pending = client.exchange(() => [text("never answered")]);
      pending.catch(() => {}); // observed below
      assert.deepEqual(texts(await server.receive({ timeout: 5000 })), [
        "never answered",
      ]);
      await client.close();
      await assert.rejects(within(pending, 5000), ClosedError);
    },
  );
});

Deno.test("close() ends an exchange retrying forever during an outage", async () => {
  const endpoint = deadEndpoint();
  const lines: string[] = [];
  let sawOutage!: () => void;
  const outage = new Promise<void>((resolve) => sawOutage = resolve);
  const client = new FrameClient(endpoint, {
    timeout: 100,
    retries: 0,
    log: (line) => {
      lines.push(line);
      sawOutage();
    },
  });
  try {
    const pending = client.exchange(() => [text("hello?")]);
    pending.catch(() => {}); // observed below
    await outage;
    await client.close();
    const error = await rejectionOf(within(pending, 5000));
    // Closed mid-wait (ClosedError) or between attempts (the client's own
    // error): either way the exchange ended, and not by giving up.
    assert.ok(
      error instanceof ClosedError ||
        (error instanceof ServerUnavailableError &&
          error.message === "the client was closed"),
      String(error),
    );
    assert.deepEqual(lines, [
      `server at ${endpoint} is not answering (no reply within 100 ms); retrying until it is back`,
    ]);
  } finally {
    await client.close();
  }
});
