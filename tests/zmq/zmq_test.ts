import assert from "node:assert/strict";
import {
  Context,
  has,
  libraryPath,
  proxy,
  version,
} from "../../lib/zmq/zmq.ts";
import { generateKeyPair as curveKeypair } from "../../lib/zmq/curve.ts";
import { ClosedError, TimeoutError, ZmqError } from "../../lib/zmq/errors.ts";
import { MONITOR_EVENTS, parseMonitorEvent } from "../../lib/zmq/monitor.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function text(value: string): Uint8Array {
  return encoder.encode(value);
}

/** Deterministic pseudo-random bytes (xorshift), so sizes and content vary. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 255;
  }
  return out;
}

/** Echoes requests on a REP socket until it is closed. */
async function echo(socket: ReturnType<Context["socket"]>): Promise<number> {
  let served = 0;
  try {
    while (true) {
      const parts = await socket.receive();
      await socket.send(parts);
      served++;
    }
  } catch (error) {
    if (!(error instanceof ClosedError)) throw error;
  }
  return served;
}

Deno.test("libzmq loads and reports its version", () => {
  assert.match(version(), /^4\.\d+\.\d+$/);
  assert.ok(libraryPath().length > 0);
  assert.equal(typeof has("curve"), "boolean");
  assert.equal(has("no-such-capability"), false);
});

Deno.test("REQ/REP multipart round trip with large and empty parts over tcp", async () => {
  const context = new Context();
  try {
    const server = context.socket("REP");
    server.bind("tcp://127.0.0.1:0");
    const endpoint = server.lastEndpoint;
    assert.match(endpoint, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(endpoint, "tcp://127.0.0.1:0");
    const client = context.socket("REQ");
    client.connect(endpoint);

    const big = noise(5 * 1024 * 1024 + 3, 7);
    const request = [text("frame"), new Uint8Array(0), big, text("end")];
    await client.send(request);
    const received = await server.receive({ timeout: 10000 });
    assert.equal(received.length, 4);
    assert.deepEqual(received.map((p) => p.length), [5, 0, big.length, 3]);
    assert.equal(decoder.decode(received[0]), "frame");
    assert.deepEqual(received[2], big);

    const reply = [new Uint8Array(0), noise(3 * 1024 * 1024, 11)];
    await server.send(reply);
    const answer = await client.receive({ timeout: 10000 });
    assert.equal(answer.length, 2);
    assert.equal(answer[0].length, 0);
    assert.deepEqual(answer[1], reply[1]);
  } finally {
    await context.close();
  }
});

Deno.test("received parts are copies that survive later messages", async () => {
  const context = new Context();
  try {
    const a = context.socket("PAIR");
    const b = context.socket("PAIR");
    a.bind("inproc://copies");
    b.connect("inproc://copies");
    await a.send([text("first")]);
    const first = await b.receive({ timeout: 5000 });
    await a.send([text("SECOND")]);
    const second = await b.receive({ timeout: 5000 });
    assert.equal(decoder.decode(first[0]), "first");
    assert.equal(decoder.decode(second[0]), "SECOND");
    // A single empty part is a valid message too.
    await a.send([new Uint8Array(0)]);
    assert.deepEqual(await b.receive({ timeout: 5000 }), [new Uint8Array(0)]);
  } finally {
    await context.close();
  }
});

Deno.test("receive timeout throws TimeoutError and the socket stays usable", async () => {
  const context = new Context();
  try {
    const a = context.socket("PAIR", { receiveTimeout: 150 });
    const b = context.socket("PAIR");
    a.bind("inproc://timeout");
    b.connect("inproc://timeout");
    await assert.rejects(a.receive(), (error: unknown) => {
      assert.ok(error instanceof TimeoutError);
      assert.match(error.message, /receive timed out after 150 ms/);
      assert.match(error.message, /inproc:\/\/timeout/);
      return true;
    });
    await assert.rejects(a.receive({ timeout: 0 }), TimeoutError);
    await b.send([text("late")]);
    const parts = await a.receive({ timeout: 5000 });
    assert.equal(decoder.decode(parts[0]), "late");
  } finally {
    await context.close();
  }
});

Deno.test("REQ without a peer: send times out", async () => {
  const context = new Context();
  try {
    const client = context.socket("REQ");
    await assert.rejects(
      client.send([text("nobody")], { timeout: 100 }),
      TimeoutError,
    );
  } finally {
    await context.close();
  }
});

Deno.test("one operation at a time per socket", async () => {
  const context = new Context();
  try {
    const socket = context.socket("PULL");
    socket.bind("inproc://busy");
    const pending = socket.receive({ timeout: 200 });
    await assert.rejects(
      socket.receive(),
      /while a receive is pending: a zmq socket allows one operation at a time/,
    );
    await assert.rejects(pending, TimeoutError);
  } finally {
    await context.close();
  }
});

Deno.test("close during a pending receive rejects with ClosedError", async () => {
  const context = new Context();
  const socket = context.socket("REP");
  socket.bind("tcp://127.0.0.1:0");
  const pending = socket.receive();
  setTimeout(() => socket.close(), 100);
  await assert.rejects(pending, ClosedError);
  assert.equal(socket.closed, true);
  await socket.released;
  await assert.rejects(socket.receive(), /socket is closed/);
  await context.close();
});

Deno.test("context close during a pending receive ends the process at once", async () => {
  const zmqUrl = new URL("../../lib/zmq/zmq.ts", import.meta.url).href;
  const code = `
    import { Context } from ${JSON.stringify(zmqUrl)};
    const context = new Context();
    const server = context.socket("REP");
    server.bind("tcp://127.0.0.1:0");
    server.receive().catch((e) => console.log("receive:", e.name));
    setTimeout(() => { context.close().then(() => console.log("closed")); }, 300);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Guard against a hang: a process that does not exit is killed and fails.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), 10000);
  });
  const result = await Promise.race([child.output(), hung]);
  clearTimeout(timer);
  if (result === "hung") {
    child.kill("SIGKILL");
    await child.status;
    assert.fail("the child process did not exit after closing its context");
  }
  const stdout = decoder.decode(result.stdout);
  assert.equal(result.code, 0, decoder.decode(result.stderr));
  assert.equal(stdout, "receive: ClosedError\nclosed\n");
});

Deno.test("bind and connect errors name the endpoint", async () => {
  const context = new Context();
  try {
    const socket = context.socket("REP");
    assert.throws(
      () => socket.bind("tcp://no-such-host.invalid:1"),
      (error: unknown) => {
        assert.ok(error instanceof ZmqError);
        assert.match(
          error.message,
          /zmq_bind\(tcp:\/\/no-such-host\.invalid:1\)/,
        );
        return true;
      },
    );
    assert.throws(
      () => socket.connect("bogus://x"),
      /zmq_connect\(bogus:\/\/x\)/,
    );
    socket.bind("tcp://127.0.0.1:0");
    const other = context.socket("REP");
    assert.throws(
      () => other.bind(socket.lastEndpoint),
      /Address already in use/,
    );
  } finally {
    await context.close();
  }
});

Deno.test("ROUTER/DEALER proxy spreads requests over several REP workers", async () => {
  const context = new Context();
  try {
    const frontend = context.socket("ROUTER");
    frontend.bind("tcp://127.0.0.1:0");
    const backend = context.socket("DEALER");
    backend.bind("inproc://workers");
    const workers: Promise<void>[] = [];
    const seen: string[] = [];
    for (let id = 0; id < 3; id++) {
      const worker = context.socket("REP");
      worker.connect("inproc://workers");
      workers.push((async () => {
        try {
          while (true) {
            const [request] = await worker.receive();
            seen.push(`w${id}`);
            await worker.send([text(`w${id}:`), request]);
          }
        } catch (error) {
          if (!(error instanceof ClosedError)) throw error;
        }
      })());
    }
    const stop = new AbortController();
    const running = proxy(frontend, backend, { signal: stop.signal });

    const clients = [0, 1].map(() => {
      const client = context.socket("REQ");
      client.connect(frontend.lastEndpoint);
      return client;
    });
    for (let round = 0; round < 6; round++) {
      await Promise.all(clients.map(async (client, c) => {
        const payload = noise(1000 + round * 10 + c, round * 7 + c + 1);
        await client.send([payload], { timeout: 5000 });
        const [who, echoed] = await client.receive({ timeout: 5000 });
        assert.match(decoder.decode(who), /^w[012]:$/);
        assert.deepEqual(echoed, payload);
      }));
    }
    assert.equal(seen.length, 12);
    assert.ok(new Set(seen).size > 1, `one worker served all: ${seen}`);

    stop.abort();
    await running;
    // After the proxy stopped, the sockets are free again.
    await assert.rejects(frontend.receive({ timeout: 10 }), TimeoutError);
    await context.close();
    await Promise.all(workers);
  } finally {
    await context.close();
  }
});

Deno.test("closing the context stops a running proxy", async () => {
  const context = new Context();
  const frontend = context.socket("ROUTER");
  frontend.bind("inproc://front");
  const backend = context.socket("DEALER");
  backend.bind("inproc://back");
  const running = proxy(frontend, backend);
  await assert.rejects(frontend.receive(), /while a proxy is pending/);
  await new Promise((resolve) => setTimeout(resolve, 50));
  await context.close();
  await running;
  assert.equal(frontend.closed && backend.closed, true);
});

Deno.test("MAXMSGSIZE drops an oversized message and the server carries on", async () => {
  const context = new Context();
  try {
    const server = context.socket("REP", { maxMessageSize: 4096 });
    server.bind("tcp://127.0.0.1:0");
    const served = echo(server);

    const greedy = context.socket("REQ");
    greedy.connect(server.lastEndpoint);
    await greedy.send([noise(100000, 3)]);
    await assert.rejects(greedy.receive({ timeout: 500 }), TimeoutError);

    const polite = context.socket("REQ");
    polite.connect(server.lastEndpoint);
    const small = noise(4000, 5);
    await polite.send([small]);
    assert.deepEqual(await polite.receive({ timeout: 5000 }), [small]);

    await context.close();
    assert.equal(await served, 1);
  } finally {
    await context.close();
  }
});

Deno.test("LIBZMQ selects the library; a bad LIBZMQ gives a clear error", async () => {
  const zmqUrl = new URL("../../lib/zmq/zmq.ts", import.meta.url).href;
  const code = `
    import { libraryPath, version } from ${JSON.stringify(zmqUrl)};
    try { console.log(libraryPath(), version()); }
    catch (e) { console.log("error:", e.message); }
  `;
  async function run(libzmq: string): Promise<string> {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { LIBZMQ: libzmq },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(output.code, 0, decoder.decode(output.stderr));
    return decoder.decode(output.stdout);
  }
  const bad = await run("/nonexistent/libzmq.so");
  assert.match(
    bad,
    /^error: cannot load libzmq from LIBZMQ=\/nonexistent\/libzmq\.so: /,
  );
  assert.match(
    bad,
    /unset it to use the one from npm:zeromq \(run `deno install`\)/,
  );
  // The library this process loaded, chosen explicitly, works the same.
  const good = await run(libraryPath());
  assert.equal(good, `${libraryPath()} ${version()}\n`);
});

Deno.test("every socket option is accepted by libzmq", async () => {
  const context = new Context();
  try {
    context.socket("DEALER", {
      linger: 100,
      maxMessageSize: 1 << 20,
      sendTimeout: 10,
      receiveTimeout: 10,
      sendHighWaterMark: 5,
      receiveHighWaterMark: 5,
      immediate: true,
      routingId: "camera-1",
      reconnectInterval: 200,
      heartbeatInterval: 1000,
      heartbeatTimeout: 3000,
      zapDomain: "facezmq",
    });
    context.socket("PULL", { conflate: true });
    context.socket("SUB", { subscribe: ["", new Uint8Array([1, 2])] });
    context.socket("REQ", { reqRelaxed: true });
    assert.throws(
      () => context.socket("REP", { curveServer: { secretKey: "short" } }),
      /curveServer\.secretKey: a CURVE key is 40 Z85 characters, got 5/,
    );
  } finally {
    await context.close();
  }
});

Deno.test("reqRelaxed lets a REQ client retry after a lost reply", async () => {
  const context = new Context();
  try {
    const server = context.socket("REP");
    server.bind("inproc://relaxed");
    const strict = context.socket("REQ");
    strict.connect("inproc://relaxed");
    await strict.send([text("one")]);
    await assert.rejects(strict.receive({ timeout: 50 }), TimeoutError);
    // A plain REQ socket insists on receiving the reply first.
    await assert.rejects(strict.send([text("two")]), /zmq_send .* failed/);

    const relaxed = context.socket("REQ", { reqRelaxed: true });
    relaxed.connect("inproc://relaxed");
    await relaxed.send([text("first")]);
    await assert.rejects(relaxed.receive({ timeout: 50 }), TimeoutError);
    await relaxed.send([text("second")]);
    // The server answers the requests in order; only "second"'s reply counts.
    for (let i = 0; i < 3; i++) {
      const [request] = await server.receive({ timeout: 5000 });
      await server.send([text("re:" + decoder.decode(request))]);
    }
    const [reply] = await relaxed.receive({ timeout: 5000 });
    assert.equal(decoder.decode(reply), "re:second");
  } finally {
    await context.close();
  }
});

Deno.test("monitor reports a plaintext client failing a CURVE server's handshake", async () => {
  const context = new Context();
  try {
    const keys = curveKeypair();
    const server = context.socket("REP", {
      curveServer: { secretKey: keys.secretKey },
    });
    server.monitor(
      "inproc://monitor-test",
      MONITOR_EVENTS.handshakeFailedProtocol,
    );
    const monitor = context.socket("PAIR");
    monitor.connect("inproc://monitor-test");
    server.bind("tcp://127.0.0.1:*");
    const client = context.socket("REQ");
    client.connect(server.lastEndpoint);
    await client.send([new Uint8Array([1])]);
    const event = parseMonitorEvent(await monitor.receive({ timeout: 5000 }));
    assert.equal(event.event, MONITOR_EVENTS.handshakeFailedProtocol);
    assert.equal(event.value, 0x11000002); // ZMTP mechanism mismatch
    assert.equal(event.endpoint, server.lastEndpoint);
    assert.throws(
      () => parseMonitorEvent([new Uint8Array(3)]),
      /not a zmq monitor event/,
    );
  } finally {
    await context.close();
  }
});

Deno.test("a Worker thread can use the main thread's context over inproc", async () => {
  const context = new Context();
  try {
    const server = context.socket("REP");
    server.bind("inproc://shared-context-test");
    const code = `
      import { Context } from ${
      JSON.stringify(new URL("../../lib/zmq/zmq.ts", import.meta.url).href)
    };
      self.onmessage = async (event) => {
        const context = Context.shared(event.data);
        const socket = context.socket("REQ");
        socket.connect("inproc://shared-context-test");
        await socket.send([new TextEncoder().encode("ping")]);
        const [reply] = await socket.receive({ timeout: 5000 });
        await context.close(); // closes its socket, leaves the context to its owner
        self.postMessage(new TextDecoder().decode(reply));
      };
    `;
    const worker = new Worker(
      URL.createObjectURL(new Blob([code], { type: "text/javascript" })),
      { type: "module" },
    );
    const answered = new Promise<string>((resolve) =>
      worker.onmessage = (e) => resolve(e.data)
    );
    worker.postMessage(context.address);
    const [request] = await server.receive({ timeout: 10_000 });
    assert.equal(new TextDecoder().decode(request), "ping");
    await server.send([new TextEncoder().encode("pong")]);
    assert.equal(await answered, "pong");
    worker.terminate();
  } finally {
    await context.close();
  }
});
