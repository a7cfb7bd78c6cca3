import assert from "node:assert/strict";
import { join } from "node:path";
import {
  generateKeyPair,
  loadAllowedKeys,
  loadClientKeys,
  loadServerKeys,
  parseKey,
  publicKeyOf,
  readKeyFile,
  startZapHandler,
  writeKeyPair,
  type ZapDecision,
} from "../../lib/zmq/curve.ts";
import { Context, type Socket } from "../../lib/zmq/zmq.ts";
import { ClosedError, TimeoutError } from "../../lib/zmq/errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Echoes requests (prefixed with "ok:") on a REP socket until it is closed. */
async function serve(socket: Socket): Promise<number> {
  let served = 0;
  try {
    while (true) {
      const [request] = await socket.receive();
      await socket.send([encoder.encode("ok:" + decoder.decode(request))]);
      served++;
    }
  } catch (error) {
    if (!(error instanceof ClosedError)) throw error;
  }
  return served;
}

async function ask(client: Socket, text: string): Promise<string> {
  await client.send([encoder.encode(text)], { timeout: 5000 });
  const [reply] = await client.receive({ timeout: 5000 });
  return decoder.decode(reply);
}

Deno.test("key pairs: Z85 text, public key derivable from the secret", () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  assert.equal(a.publicKey.length, 40);
  assert.equal(a.secretKey.length, 40);
  assert.notEqual(a.secretKey, b.secretKey);
  assert.equal(publicKeyOf(a.secretKey), a.publicKey);
  assert.equal(publicKeyOf(b.secretKey), b.publicKey);
  assert.equal(parseKey(`# comment\n${a.publicKey}\n\n`, "x"), a.publicKey);
});

Deno.test("key files: missing and garbled files give clear errors", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      readKeyFile(join(dir, "nobody.key")),
      /key file .*nobody\.key does not exist \(make one with `deno task keys NAME`\)/,
    );
    const garbled = join(dir, "garbled.pub");
    await Deno.writeTextFile(garbled, "this is not a key\n");
    await assert.rejects(
      readKeyFile(garbled),
      /garbled\.pub: not a CURVE key file \(expected one 40-character Z85 key/,
    );
    const truncated = join(dir, "truncated.pub");
    const { publicKey } = generateKeyPair();
    await Deno.writeTextFile(truncated, publicKey.slice(0, 39));
    await assert.rejects(readKeyFile(truncated), /truncated\.pub: not a CURVE/);
    await assert.rejects(readKeyFile(dir), /is a directory/);
    await assert.rejects(loadAllowedKeys(join(dir, "none")), /does not exist/);
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    await assert.rejects(loadAllowedKeys(empty), /has no \*\.pub files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("client keys: server .key refused, mismatched .pub detected", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = await writeKeyPair("server", { dir });
    const client = await writeKeyPair("client", { dir });
    const loaded = await loadClientKeys(server.publicPath, client.secretPath);
    assert.deepEqual(loaded, {
      serverKey: server.publicKey,
      publicKey: client.publicKey,
      secretKey: client.secretKey,
    });
    await assert.rejects(
      loadClientKeys(server.secretPath, client.secretPath),
      /server\.key looks like a SECRET key/,
    );
    await Deno.writeTextFile(client.publicPath, server.publicKey + "\n");
    await assert.rejects(
      loadClientKeys(server.publicPath, client.secretPath),
      /client\.pub does not belong to .*client\.key/,
    );
    const serverKeys = await loadServerKeys(server.secretPath);
    assert.equal(serverKeys.publicKey, server.publicKey);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CURVE + ZAP: allowed client served; unknown key and plaintext get nothing", async () => {
  const dir = await Deno.makeTempDir();
  const context = new Context();
  try {
    const serverFiles = await writeKeyPair("server", { dir });
    const allowDir = join(dir, "allowed");
    const good = await writeKeyPair("good", { dir: allowDir });
    const stranger = generateKeyPair();

    const decisions: ZapDecision[] = [];
    const zap = startZapHandler(context, {
      allowed: await loadAllowedKeys(allowDir),
      onDecision: (decision) => decisions.push(decision),
    });
    const server = context.socket("REP", {
      curveServer: await loadServerKeys(serverFiles.secretPath),
    });
    server.bind("tcp://127.0.0.1:0");
    const endpoint = server.lastEndpoint;
    const served = serve(server);

    const goodClient = context.socket("REQ", {
      curveClient: await loadClientKeys(
        serverFiles.publicPath,
        good.secretPath,
      ),
    });
    goodClient.connect(endpoint);
    assert.equal(await ask(goodClient, "hello"), "ok:hello");
    assert.equal(goodClient.mechanism, "CURVE");

    // A client whose key is not in the allowed directory.
    const strangerClient = context.socket("REQ", {
      curveClient: { serverKey: serverFiles.publicKey, ...stranger },
    });
    strangerClient.connect(endpoint);
    await strangerClient.send([encoder.encode("let me in")]);
    await assert.rejects(
      strangerClient.receive({ timeout: 700 }),
      TimeoutError,
    );

    // A client that does not speak CURVE at all.
    const plainClient = context.socket("REQ");
    plainClient.connect(endpoint);
    await plainClient.send([encoder.encode("plaintext")]);
    await assert.rejects(plainClient.receive({ timeout: 700 }), TimeoutError);

    // The server carries on serving the good client.
    assert.equal(await ask(goodClient, "again"), "ok:again");

    const refused = decisions.filter((d) => !d.allowed);
    assert.ok(refused.length >= 1);
    assert.ok(refused.every((d) => d.publicKey === stranger.publicKey));
    assert.equal(refused[0].mechanism, "CURVE");
    assert.equal(refused[0].address, "127.0.0.1");
    const admitted = decisions.filter((d) => d.allowed);
    assert.ok(admitted.length >= 1);
    assert.ok(admitted.every((d) => d.publicKey === good.publicKey));

    zap.close();
    await zap.done;
    await context.close();
    assert.equal(await served, 2);
  } finally {
    await context.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("CURVE without an allow list admits any client that knows the server key", async () => {
  const context = new Context();
  try {
    const serverKeys = generateKeyPair();
    const decisions: ZapDecision[] = [];
    startZapHandler(context, {
      allowed: null,
      onDecision: (decision) => decisions.push(decision),
    });
    const server = context.socket("REP", { curveServer: serverKeys });
    server.bind("tcp://127.0.0.1:0");
    const served = serve(server);
    const anyone = generateKeyPair();
    const client = context.socket("REQ", {
      curveClient: { serverKey: serverKeys.publicKey, ...anyone },
    });
    client.connect(server.lastEndpoint);
    assert.equal(await ask(client, "hi"), "ok:hi");
    assert.deepEqual(
      decisions.map((d) => [d.allowed, d.publicKey]),
      [[true, anyone.publicKey]],
    );

    // Knowing the wrong server key fails the handshake itself.
    const wrongServer = context.socket("REQ", {
      curveClient: { serverKey: generateKeyPair().publicKey, ...anyone },
    });
    wrongServer.connect(server.lastEndpoint);
    await wrongServer.send([encoder.encode("hi")]);
    await assert.rejects(wrongServer.receive({ timeout: 500 }), TimeoutError);
    await context.close();
    assert.equal(await served, 1);
  } finally {
    await context.close();
  }
});

Deno.test("deno task keys writes a 0600 secret and refuses to overwrite", async () => {
  const dir = await Deno.makeTempDir();
  const root = new URL("../..", import.meta.url);
  async function run(...args: string[]) {
    const output = await new Deno.Command(Deno.execPath(), {
      args: ["task", "keys", ...args],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  }
  try {
    const first = await run("camera1", "--dir", dir);
    assert.equal(first.code, 0, first.stderr);
    const secretPath = join(dir, "camera1.key");
    const publicPath = join(dir, "camera1.pub");
    assert.match(first.stdout, /secret key: .*camera1\.key/);
    const secret = await readKeyFile(secretPath);
    const publicKey = await readKeyFile(publicPath);
    assert.equal(publicKeyOf(secret), publicKey);
    assert.ok(first.stdout.includes(publicKey));
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(secretPath)).mode! & 0o777, 0o600);
    }

    const again = await run("camera1", "--dir", dir);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /camera1\.key already exists; use --force/);
    assert.doesNotMatch(again.stderr, /\n\s+at /); // no stack trace
    assert.equal(await readKeyFile(secretPath), secret);

    await Deno.chmod(secretPath, 0o644);
    const forced = await run("camera1", "--dir", dir, "--force");
    assert.equal(forced.code, 0, forced.stderr);
    const newSecret = await readKeyFile(secretPath);
    assert.notEqual(newSecret, secret);
    assert.equal(publicKeyOf(newSecret), await readKeyFile(publicPath));
    if (Deno.build.os !== "windows") {
      assert.equal((await Deno.stat(secretPath)).mode! & 0o777, 0o600);
    }

    const bad = await run("../escape", "--dir", dir);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid key name/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
