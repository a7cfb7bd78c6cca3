/**
 * CURVE security for the facezmq sockets: Z85 text, key pairs, key files,
 * the socket options' key checks, and a ZAP handler that admits only known
 * clients.
 *
 * Key files hold one 40-character Z85 key: `NAME.key` is the secret key
 * (mode 0600), `NAME.pub` the public key. Blank lines and lines starting
 * with `#` are ignored when reading.
 *
 * @module
 */

import { join } from "node:path";
import { cString, errorText, failure, requireCurve, symbols } from "./_ffi.ts";
import { ClosedError } from "./errors.ts";
import type { Context, Socket } from "./zmq.ts";

/** A CURVE key: 40-character Z85 text or 32 raw bytes. */
export type CurveKey = string | Uint8Array;

/** A CURVE key pair as 40-character Z85 text. */
export interface KeyPair {
  /** The public key: give it to peers. */
  publicKey: string;
  /** The secret key: keep it private. */
  secretKey: string;
}

/** Where {@link writeKeyPair} put the files. */
export interface WrittenKeyPair extends KeyPair {
  /** Path of the secret key file (`NAME.key`, mode 0600). */
  secretPath: string;
  /** Path of the public key file (`NAME.pub`). */
  publicPath: string;
}

/** Options of {@link writeKeyPair}. */
export interface WriteKeyPairOptions {
  /** Directory for the files (created if missing). Default "keys". */
  dir?: string;
  /** Replace existing files instead of refusing. Default false. */
  force?: boolean;
}

/** A decision of the ZAP handler about one connecting peer. */
export interface ZapDecision {
  /** Whether the peer was let in. */
  allowed: boolean;
  /** The peer's CURVE public key (Z85), or null for other mechanisms. */
  publicKey: string | null;
  /** The peer's IP address as libzmq reports it. */
  address: string;
  /** "CURVE", "NULL" or "PLAIN". */
  mechanism: string;
  /** The ZAP domain of the accepting socket ("" if none). */
  domain: string;
}

/** Options of {@link startZapHandler}. */
export interface ZapHandlerOptions {
  /**
   * Public keys (Z85) that may connect; null lets in every client that
   * completes the CURVE handshake (i.e. knows the server's public key).
   */
  allowed: Set<string> | null;
  /**
   * Called for every decision. Without it, refused peers are reported with
   * `console.warn`.
   */
  onDecision?: (decision: ZapDecision) => void;
}

/** A running ZAP handler. */
export interface ZapHandler {
  /** Stops the handler and closes its socket. */
  close(): void;
  /** Resolves when the handler loop has ended. */
  done: Promise<void>;
}

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

/** Makes a new CURVE key pair with libzmq's `zmq_curve_keypair`. */
export function generateKeyPair(): KeyPair {
  const zmq = symbols();
  requireCurve("set LIBZMQ to a libzmq built with libsodium/tweetnacl");
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

/** Derives the Z85 public key of a Z85 secret key (`zmq_curve_public`). */
export function publicKeyOf(secretKey: string): string {
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

/**
 * The 32 raw bytes of a CURVE key given as Z85 text or bytes, for
 * `zmq_setsockopt`; `what` names the option in the error (e.g.
 * "curveClient.serverKey").
 */
export function curveKeyBytes(key: CurveKey, what: string): Uint8Array {
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

/**
 * Checks that `text` is a Z85 CURVE key (ignoring `#` comment lines and
 * whitespace) and returns it; `source` names the origin in the error.
 */
export function parseKey(text: string, source: string): string {
  const lines = text.split(/\r?\n/).map((line) => line.trim()).filter((
    line,
  ) => line !== "" && !line.startsWith("#"));
  if (lines.length !== 1 || !Z85_KEY.test(lines[0])) {
    const found = lines.length === 1
      ? `a line of ${lines[0].length} characters`
      : `${lines.length} lines`;
    throw new Error(
      `${source}: not a CURVE key file (expected one 40-character Z85 key ` +
        `as written by \`deno task keys\`, found ${found})`,
    );
  }
  try {
    z85Decode(lines[0]);
  } catch {
    throw new Error(`${source}: the key is not valid Z85`);
  }
  return lines[0];
}

/** Reads and validates a key file (`.key` or `.pub`); clear error if missing or garbled. */
export async function readKeyFile(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        `key file ${path} does not exist (make one with \`deno task keys NAME\`)`,
      );
    }
    if (error instanceof Deno.errors.IsADirectory) {
      throw new Error(`key file ${path} is a directory, not a key file`);
    }
    throw new Error(
      `cannot read key file ${path}: ${(error as Error).message}`,
    );
  }
  return parseKey(text, `key file ${path}`);
}

/**
 * Writes a new key pair as `NAME.key` (secret, mode 0600) and `NAME.pub`
 * (public) in `options.dir`. Refuses to replace existing files unless
 * `options.force`.
 */
export async function writeKeyPair(
  name: string,
  options: WriteKeyPairOptions = {},
): Promise<WrittenKeyPair> {
  if (!/^[A-Za-z0-9_-][A-Za-z0-9_.-]*$/.test(name)) {
    throw new Error(
      `invalid key name ${JSON.stringify(name)}: use letters, digits, ` +
        "'_', '-' and '.', not starting with '.'",
    );
  }
  const dir = options.dir ?? "keys";
  const secretPath = join(dir, `${name}.key`);
  const publicPath = join(dir, `${name}.pub`);
  if (!options.force) {
    for (const path of [secretPath, publicPath]) {
      if (await exists(path)) {
        throw new Error(
          `${path} already exists; use --force to replace it ` +
            "(clients or servers that trust the old key will be refused)",
        );
      }
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  const keys = generateKeyPair();
  // Remove an old secret first so the new one is created with mode 0600
  // and is never readable by others, even for a moment.
  await Deno.remove(secretPath).catch(() => {});
  await Deno.writeTextFile(secretPath, keys.secretKey + "\n", {
    mode: 0o600,
    createNew: true,
  });
  if (Deno.build.os !== "windows") await Deno.chmod(secretPath, 0o600);
  await Deno.writeTextFile(publicPath, keys.publicKey + "\n", { mode: 0o644 });
  return { ...keys, secretPath, publicPath };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Reads every `*.pub` file in `dir` into a set of allowed public keys.
 * Throws if the directory is missing, has no `.pub` file or one is garbled.
 */
export async function loadAllowedKeys(dir: string): Promise<Set<string>> {
  const allowed = new Set<string>();
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.isFile && entry.name.endsWith(".pub")) names.push(entry.name);
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`allowed-clients directory ${dir} does not exist`);
    }
    throw new Error(
      `cannot list allowed-clients directory ${dir}: ${
        (error as Error).message
      }`,
    );
  }
  if (names.length === 0) {
    throw new Error(
      `allowed-clients directory ${dir} has no *.pub files, so no client ` +
        "could connect (copy the clients' NAME.pub files there)",
    );
  }
  names.sort();
  for (const name of names) allowed.add(await readKeyFile(join(dir, name)));
  return allowed;
}

/**
 * A public key given where a secret key belongs is taken for a secret key
 * (both are 40 Z85 characters) and gives a socket nobody can talk to, so a
 * `.pub` file is refused by name.
 */
function refusePublicAsSecret(secretPath: string): void {
  if (secretPath.endsWith(".pub")) {
    throw new Error(
      `${secretPath} is a PUBLIC key file: --curve-secret wants a secret ` +
        "key (the .key file written by `deno task keys NAME`)",
    );
  }
}

/**
 * Socket options for a CURVE server from its secret key file
 * (`--curve-secret FILE`). Pass the result as `curveServer`.
 */
export async function loadServerKeys(
  secretPath: string,
): Promise<{ secretKey: string; publicKey: string }> {
  refusePublicAsSecret(secretPath);
  const secretKey = await readKeyFile(secretPath);
  return { secretKey, publicKey: publicKeyOf(secretKey) };
}

/**
 * Socket options for a CURVE client (`--curve-server-key FILE
 * --curve-secret FILE`); pass the result as `curveClient`. The client's
 * public key is derived from its secret key; if a `.pub` file sits beside
 * the `.key` file it must match.
 */
export async function loadClientKeys(
  serverKeyPath: string,
  secretPath: string,
): Promise<{ serverKey: string; publicKey: string; secretKey: string }> {
  if (serverKeyPath.endsWith(".key")) {
    throw new Error(
      `${serverKeyPath} looks like a SECRET key: --curve-server-key wants ` +
        "the server's public key (its .pub file); never give a server's " +
        ".key file to clients",
    );
  }
  refusePublicAsSecret(secretPath);
  const serverKey = await readKeyFile(serverKeyPath);
  const secretKey = await readKeyFile(secretPath);
  const publicKey = publicKeyOf(secretKey);
  if (secretPath.endsWith(".key")) {
    const besidePath = secretPath.slice(0, -4) + ".pub";
    if (await exists(besidePath)) {
      const beside = await readKeyFile(besidePath);
      if (beside !== publicKey) {
        throw new Error(
          `${besidePath} does not belong to ${secretPath} ` +
            "(the public key derived from the secret differs)",
        );
      }
    }
  }
  return { serverKey, publicKey, secretKey };
}

/**
 * Starts a ZAP handler (RFC 27) in `context`: a REP socket on
 * `inproc://zeromq.zap.01` that libzmq asks about every connecting peer of
 * the context's CURVE server sockets. Start it before binding the server.
 * Only one handler can run per context.
 */
export function startZapHandler(
  context: Context,
  options: ZapHandlerOptions,
): ZapHandler {
  const socket = context.socket("REP");
  socket.bind(ZAP_ENDPOINT);
  const report = options.onDecision ?? warnRefused;
  const done = serveZap(socket, options.allowed, report);
  return {
    close: () => socket.close(),
    done,
  };
}

function warnRefused(decision: ZapDecision): void {
  if (decision.allowed) return;
  console.warn(
    `refused ${decision.mechanism} client from ${decision.address || "?"}` +
      (decision.publicKey ? ` with unknown key ${decision.publicKey}` : ""),
  );
}

async function serveZap(
  socket: Socket,
  allowed: Set<string> | null,
  report: (decision: ZapDecision) => void,
): Promise<void> {
  while (true) {
    let request: Uint8Array[];
    try {
      request = await socket.receive();
    } catch (error) {
      if (error instanceof ClosedError) return;
      throw error;
    }
    const reply = decideZap(request, allowed, report);
    try {
      await socket.send(reply);
    } catch (error) {
      if (error instanceof ClosedError) return;
      throw error;
    }
  }
}

/** Builds the ZAP reply for one request and reports the decision. */
function decideZap(
  request: Uint8Array[],
  allowed: Set<string> | null,
  report: (decision: ZapDecision) => void,
): Uint8Array[] {
  // version, request id, domain, address, routing id, mechanism, credentials...
  const requestId = request[1] ?? new Uint8Array(0);
  if (request.length < 6 || decoder.decode(request[0]) !== "1.0") {
    return zapReply(requestId, "400", "malformed ZAP request", "");
  }
  const domain = decoder.decode(request[2]);
  const address = decoder.decode(request[3]);
  const mechanism = decoder.decode(request[5]);
  let publicKey: string | null = null;
  if (mechanism === "CURVE" && request[6]?.length === 32) {
    publicKey = z85Encode(request[6]);
  }
  let ok: boolean;
  if (mechanism === "CURVE") {
    ok = publicKey !== null && (allowed === null || allowed.has(publicKey));
  } else {
    ok = allowed === null;
  }
  try {
    report({ allowed: ok, publicKey, address, mechanism, domain });
  } catch (error) {
    console.error(`ZAP onDecision failed: ${(error as Error).message}`);
  }
  return ok
    ? zapReply(requestId, "200", "OK", publicKey ?? "")
    : zapReply(requestId, "400", "client key not allowed", "");
}

function zapReply(
  requestId: Uint8Array,
  status: string,
  text: string,
  userId: string,
): Uint8Array[] {
  return [
    encoder.encode("1.0"),
    requestId,
    encoder.encode(status),
    encoder.encode(text),
    encoder.encode(userId),
    new Uint8Array(0),
  ];
}
