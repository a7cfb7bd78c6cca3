/**
 * Test support: runs the real server and client as subprocesses
 * (`deno run server.ts` / `client.ts`) and collects their output.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url).pathname;

/** A running server subprocess. */
export interface ServerProcess {
  /** The endpoint it serves on (from its ready line). */
  endpoint: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends a signal and waits for the exit; resolves with the exit code and ms taken. */
  stop(signal?: Deno.Signal): Promise<{ code: number; ms: number }>;
}

/** Reads a stream into `sink` line by line until it ends. */
async function pump(
  stream: ReadableStream<Uint8Array>,
  sink: string[],
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    sink.push(decoder.decode(chunk, { stream: true }));
  }
}

/**
 * Starts `deno run server.ts ARGS` and waits (up to `timeoutMs`) for its
 * ready line. Binds an ephemeral port unless ARGS has `--bind`.
 */
export async function startServer(
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ServerProcess> {
  const bind = args.includes("--bind") ? [] : ["--bind", "tcp://127.0.0.1:*"];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}server.ts`, ...bind, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: options.env,
  }).spawn();
  const chunks: string[] = [];
  const done = Promise.all([
    pump(child.stdout, chunks),
    pump(child.stderr, chunks),
  ]);
  const output = () => chunks.join("");
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let endpoint = "";
  while (Date.now() < deadline) {
    const match = /ready: serving on (\S+)/.exec(output());
    if (match) {
      endpoint = match[1];
      break;
    }
    if (/^error: /m.test(output())) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    const t0 = performance.now();
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
    const status = await child.status;
    await done;
    return { code: status.code, ms: performance.now() - t0 };
  };
  if (!endpoint) {
    await stop("SIGKILL");
    throw new Error(`the server did not start:\n${output()}`);
  }
  return { endpoint, child, output, stop };
}

/** The result of a finished client run. */
export interface ClientRun {
  /** Exit code. */
  code: number;
  /** Stdout (JSON lines with --json). */
  stdout: string;
  /** Stderr (logs). */
  stderr: string;
}

/** Runs `deno run client.ts ARGS` to completion. */
export async function runClient(args: string[]): Promise<ClientRun> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}client.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** The project's root folder (with a trailing slash). */
export const PROJECT_ROOT: string = ROOT;

/**
 * A port number that was free a moment ago on 127.0.0.1: binds port 0,
 * reads the number and closes the listener (for a server that must come
 * back on the same port after a restart).
 */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Polls `check` every 25 ms until it is true; throws after `timeoutMs`. */
export async function waitUntil(
  check: () => boolean,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${options.what ?? "a condition"}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A client subprocess that is still running (see {@linkcode spawnClient}). */
export interface ClientProcess {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Stdout so far. */
  stdout(): string;
  /** Stderr so far. */
  stderr(): string;
  /** Resolves when it has exited and its output is read, with the code. */
  finished: Promise<ClientRun>;
  /** Sends `signal` (ignored if it already exited). */
  kill(signal?: Deno.Signal): void;
}

/** Starts `deno run client.ts ARGS` and returns at once. */
export function spawnClient(args: string[]): ClientProcess {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}client.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  const out: string[] = [];
  const err: string[] = [];
  const reading = Promise.all([
    pump(child.stdout, out),
    pump(child.stderr, err),
  ]);
  const finished = (async () => {
    const status = await child.status;
    await reading;
    return { code: status.code, stdout: out.join(""), stderr: err.join("") };
  })();
  return {
    child,
    stdout: () => out.join(""),
    stderr: () => err.join(""),
    finished,
    kill(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // already gone
      }
    },
  };
}

/**
 * Makes a CURVE key pair with the real command (`deno run keys.ts NAME
 * --dir DIR`); returns the paths of `NAME.key` and `NAME.pub`.
 */
export async function makeKeys(
  name: string,
  dir: string,
): Promise<{ secretPath: string; publicPath: string }> {
  const result = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}keys.ts`, name, "--dir", dir],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).output();
  if (!result.success) {
    throw new Error(
      `keys.ts ${name} failed: ${new TextDecoder().decode(result.stderr)}`,
    );
  }
  return { secretPath: `${dir}/${name}.key`, publicPath: `${dir}/${name}.pub` };
}

/**
 * The ids of the running processes whose parent is `pid` (Linux: read from
 * /proc; empty elsewhere). Zombies (exited, not yet reaped) are left out.
 */
export function childPids(pid: number): number[] {
  const found: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === pid && fields[0] !== "Z") {
      found.push(Number(entry.name));
    }
  }
  return found;
}

/** Assertion helper: the lines of `text` that look like stack frames. */
export function stackLines(text: string): string[] {
  return text.split("\n").filter((line) => /^\s+at /.test(line));
}
