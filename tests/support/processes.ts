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
