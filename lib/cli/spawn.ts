/**
 * Runs the project's own commands as child processes (`deno run -A
 * server.ts ...`), the way the demo, the bench and the end-to-end tests
 * need a server or worker they can stop: start it, wait for its `ready:`
 * line, read the endpoint from it, keep its output, stop it with a signal.
 *
 * @module
 */

/** The project's root folder, with a trailing slash. */
export const PROJECT_ROOT: string = new URL("../../", import.meta.url).pathname;

/** The commands of the project (the top-level `*.ts` entry points). */
export type ProjectCommand =
  | "server"
  | "client"
  | "worker"
  | "train"
  | "recognize"
  | "keys"
  | "demo"
  | "bench"
  | "enroll";

/** Options for {@linkcode projectCommand}. */
export interface ProjectCommandOptions {
  /** Environment variables to add. */
  env?: Record<string, string>;
}

/**
 * `deno run -A <root>/<command>.ts ARGS` in the project root, stdin closed,
 * stdout and stderr piped.
 */
export function projectCommand(
  command: ProjectCommand,
  args: string[],
  options: ProjectCommandOptions = {},
): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${PROJECT_ROOT}${command}.ts`, ...args],
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  });
}

/** A child process that printed its ready line. */
export interface ReadyProcess {
  /** What the ready line named (the first group of `ready`): its endpoint. */
  endpoint: string;
  /** The child process. */
  child: Deno.ChildProcess;
  /** Its process id. */
  pid: number;
  /** Everything it printed so far, stdout and stderr. */
  output(): string;
  /**
   * Sends `signal` (default SIGTERM, an orderly stop), SIGKILL if it is still
   * running 5 s later, and resolves with the exit code and the ms it took.
   */
  stop(signal?: Deno.Signal): Promise<{ code: number; ms: number }>;
}

/** Options for {@linkcode spawnUntilReady}. */
export interface SpawnOptions extends ProjectCommandOptions {
  /** The ready line; its first group is the endpoint. */
  ready: RegExp;
  /** The program in error messages. Default its path. */
  what?: string;
  /** Give up (and kill it) after this many ms. Default 120 000. */
  timeoutMs?: number;
  /** Called with each line printed before the ready line (to show progress). */
  onStartupLine?: (line: string) => void;
}

/**
 * Starts `program ARGS` and resolves once its output matches `ready`.
 * Rejects with the last lines of its output when it exits first or stays
 * silent past the timeout.
 */
export function spawnUntilReady(
  program: string,
  args: string[],
  options: SpawnOptions,
): Promise<ReadyProcess> {
  const child = new Deno.Command(program, {
    args,
    cwd: PROJECT_ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: options.env,
  }).spawn();
  return waitUntilReady(child, { what: program, ...options });
}

/** Options for {@linkcode spawnProject}: those of spawnUntilReady, all optional. */
export type SpawnProjectOptions = Partial<SpawnOptions>;

/** The ready lines of the commands that serve. */
const READY: Partial<Record<ProjectCommand, RegExp>> = {
  server: /^ready: serving on (\S+)/m,
  worker: /^ready: worker connected to (\S+)/m,
};

/**
 * Starts a project command (`server` or `worker`) and resolves once it is
 * ready. A server without `--bind` is bound to a free loopback port, so it
 * never meets one already running on the default port.
 */
export function spawnProject(
  command: ProjectCommand,
  args: string[],
  options: SpawnProjectOptions = {},
): Promise<ReadyProcess> {
  const ready = options.ready ?? READY[command];
  if (ready === undefined) {
    throw new Error(`${command} prints no ready line: give options.ready`);
  }
  const bind = command === "server" && !args.includes("--bind")
    ? ["--bind", "tcp://127.0.0.1:*"]
    : [];
  const child = projectCommand(command, [...bind, ...args], options).spawn();
  return waitUntilReady(child, { what: `the ${command}`, ...options, ready });
}

/** Collects a child's output until its ready line; see spawnUntilReady. */
async function waitUntilReady(
  child: Deno.ChildProcess,
  options: SpawnOptions & { what: string },
): Promise<ReadyProcess> {
  const chunks: string[] = [];
  let ready = false;
  const startupLines = () => {
    let partial = "";
    return (text: string) => {
      if (ready || !options.onStartupLine) return;
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) {
        if (ready || options.ready.test(line)) {
          ready = true;
          return;
        }
        options.onStartupLine(line);
      }
    };
  };
  const drained = Promise.all([
    drain(child.stdout, chunks, startupLines()),
    drain(child.stderr, chunks, startupLines()),
  ]);
  let exited = false;
  const status = child.status.finally(() => exited = true);
  const stop = async (signal: Deno.Signal = "SIGTERM") => {
    const t0 = performance.now();
    const kill = (name: Deno.Signal) => {
      try {
        child.kill(name);
      } catch {
        // already gone
      }
    };
    kill(signal);
    const timer = setTimeout(() => kill("SIGKILL"), 5000);
    const { code } = await status;
    clearTimeout(timer);
    await drained;
    return { code, ms: performance.now() - t0 };
  };
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    // After an exit, the last words may still be in the pipes.
    if (exited) await drained;
    const match = options.ready.exec(chunks.join(""));
    if (match) {
      ready = true;
      return {
        endpoint: match[1],
        child,
        pid: child.pid,
        output: () => chunks.join(""),
        stop,
      };
    }
    if (exited) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const silent = !exited;
  await stop("SIGKILL");
  const tail = chunks.join("").trim().split("\n").slice(-20).join("\n");
  throw new Error(
    `${options.what} did not start${
      silent ? ` within ${timeoutMs} ms` : ""
    }:\n${tail}`,
  );
}

/** Reads `stream` into `sink` until it ends, handing each piece to `onText`. */
async function drain(
  stream: ReadableStream<Uint8Array>,
  sink: string[],
  onText: (text: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    const text = decoder.decode(chunk, { stream: true });
    sink.push(text);
    onText(text);
  }
}
