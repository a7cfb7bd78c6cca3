/**
 * Test support: runs the real commands (`server.ts`, `worker.ts`,
 * `client.ts`, `keys.ts`) as processes, through lib/cli/spawn.ts as the demo
 * and the bench do, and collects their output.
 *
 * @module
 */

import {
  PROJECT_ROOT,
  type ProjectCommand,
  projectCommand,
  type ReadyProcess,
  spawnProject,
} from "../../lib/cli/spawn.ts";

export { PROJECT_ROOT };

/** A running server (or worker) process. */
export type ServerProcess = ReadyProcess;

/** Options for {@linkcode startServer} and {@linkcode startWorker}. */
export interface StartOptions {
  /** Give up after this many ms. Default 60 000. */
  timeoutMs?: number;
  /** Environment variables to add. */
  env?: Record<string, string>;
}

/**
 * Starts `deno run server.ts ARGS` and waits for its ready line. Binds an
 * ephemeral port unless ARGS has `--bind`. Throws with its output when it
 * does not start.
 */
export function startServer(
  args: string[],
  options: StartOptions = {},
): Promise<ServerProcess> {
  return spawnProject("server", args, {
    timeoutMs: options.timeoutMs ?? 60_000,
    env: options.env,
  });
}

/** Starts `deno run worker.ts ARGS` and waits for its ready line. */
export function startWorker(
  args: string[],
  options: StartOptions = {},
): Promise<ServerProcess> {
  return spawnProject("worker", args, {
    timeoutMs: options.timeoutMs ?? 60_000,
    env: options.env,
  });
}

/** The result of a finished run. */
export interface ClientRun {
  /** Exit code. */
  code: number;
  /** Stdout (JSON lines with --json). */
  stdout: string;
  /** Stderr (logs). */
  stderr: string;
}

/** Runs `deno run COMMAND.ts ARGS` to completion. */
export async function runProject(
  command: ProjectCommand,
  args: string[],
): Promise<ClientRun> {
  const result = await projectCommand(command, args).output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    stdout: decoder.decode(result.stdout),
    stderr: decoder.decode(result.stderr),
  };
}

/** Runs `deno run client.ts ARGS` to completion. */
export function runClient(args: string[]): Promise<ClientRun> {
  return runProject("client", args);
}

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

/** A client process that is still running (see {@linkcode spawnClient}). */
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
  const child = projectCommand("client", args).spawn();
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

/** Reads a stream into `sink` until it ends. */
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
 * Makes a CURVE key pair with the real command (`deno run keys.ts NAME
 * --dir DIR`); returns the paths of `NAME.key` and `NAME.pub`.
 */
export async function makeKeys(
  name: string,
  dir: string,
): Promise<{ secretPath: string; publicPath: string }> {
  const result = await runProject("keys", [name, "--dir", dir]);
  if (result.code !== 0) {
    throw new Error(`keys.ts ${name} failed: ${result.stderr}`);
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
