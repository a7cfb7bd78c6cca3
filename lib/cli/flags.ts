/**
 * What every command-line entry point shares: flag parsing with clear
 * messages, number checks, and a main wrapper that turns errors into one
 * line on stderr and exit code 1 (no stack traces for user mistakes).
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** A mistake by the user: printed as is, without a stack trace. */
export class UsageError extends Error {
  /** Creates the error with the message to print. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The parsed flags of {@linkcode parseFlags}. */
export type Flags = Record<
  string,
  string | boolean | string[] | boolean[] | undefined
>;

/**
 * Parses `args` with node's `parseArgs` (strict); unknown flags and missing
 * values become a {@linkcode UsageError} that points to `--help`.
 */
export function parseFlags(
  args: string[],
  options: { flags: ParseArgsConfig["options"]; positionals?: boolean },
): { values: Flags; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: options.flags,
      allowPositionals: options.positionals ?? false,
      strict: true,
    });
    return { values: values as Flags, positionals };
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (see --help)`);
  }
}

/** Reads a numeric flag: undefined when absent, a UsageError when not a number in range. */
export function numberFlag(
  values: Flags,
  name: string,
  range: { min?: number; max?: number; integer?: boolean } = {},
): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  const min = range.min ?? -Infinity;
  const max = range.max ?? Infinity;
  if (
    typeof raw !== "string" || raw.trim() === "" || !Number.isFinite(value) ||
    value < min || value > max || (range.integer && !Number.isInteger(value))
  ) {
    const kind = range.integer ? "a whole number" : "a number";
    const bounds = Number.isFinite(min) || Number.isFinite(max)
      ? ` from ${min} to ${max}`
      : "";
    throw new UsageError(`--${name} needs ${kind}${bounds}, not "${raw}"`);
  }
  return value;
}

/** Reads a string flag (undefined when absent). */
export function stringFlag(values: Flags, name: string): string | undefined {
  const raw = values[name];
  return typeof raw === "string" ? raw : undefined;
}

/** Transports libzmq can connect or bind. */
const ENDPOINT_SCHEMES = ["tcp", "ipc", "inproc", "ws", "wss", "pgm", "epgm"];

/**
 * Reads a ZeroMQ endpoint flag (`tcp://HOST:PORT`, `ipc://PATH`, ...). A bare
 * `HOST:PORT` or a tcp endpoint without a port is a {@linkcode UsageError}
 * that shows what an endpoint looks like: libzmq only says "Invalid argument".
 */
export function endpointFlag(values: Flags, name: string): string | undefined {
  const raw = stringFlag(values, name);
  if (raw === undefined) return undefined;
  const match = /^([a-z]+):\/\/(.+)$/.exec(raw);
  const valid = match !== null && ENDPOINT_SCHEMES.includes(match[1]) &&
    (match[1] !== "tcp" || /:(\d{1,5}|\*)$/.test(match[2]));
  if (valid) return raw;
  const hint = /^[^/:]*:\d{1,5}$/.test(raw)
    ? ` (did you mean tcp://${raw}?)`
    : "";
  throw new UsageError(
    `--${name} needs an endpoint like tcp://127.0.0.1:5555 ` +
      `(tcp://HOST:PORT or ipc://PATH), not "${raw}"${hint}`,
  );
}

/** Parses `WxH` (e.g. `640x480`). */
export function parseSize(
  text: string,
  flag = "size",
): { width: number; height: number } {
  const match = /^(\d{1,5})x(\d{1,5})$/.exec(text);
  const width = match ? Number(match[1]) : 0;
  const height = match ? Number(match[2]) : 0;
  if (!match || width < 16 || height < 16 || width > 4096 || height > 4096) {
    throw new UsageError(
      `--${flag} needs WIDTHxHEIGHT between 16x16 and 4096x4096, e.g. 640x480, not "${text}"`,
    );
  }
  return { width, height };
}

/**
 * Runs `main`, printing any error as one line (`error: ...`) and exiting
 * with 1. Set FACEZMQ_DEBUG=1 to see stack traces of unexpected errors.
 */
export async function runMain(
  main: () => Promise<number | void>,
): Promise<void> {
  let code = 0;
  try {
    code = (await main()) ?? 0;
  } catch (error) {
    const err = error as Error;
    console.error(`error: ${err?.message ?? String(error)}`);
    if (!(error instanceof UsageError) && Deno.env.get("FACEZMQ_DEBUG")) {
      console.error(err?.stack);
    }
    code = 1;
  }
  Deno.exit(code);
}

/** The `-h, --help` flag every command has. */
const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const;

/** The parsed arguments a command's main gets from {@linkcode runCommand}. */
export interface ParsedArgs {
  /** The flags. */
  values: Flags;
  /** The arguments that are not flags (only with `positionals: true`). */
  positionals: string[];
}

/** Options for {@linkcode runCommand}. */
export interface CommandOptions {
  /** The command's usage text, printed for `-h`/`--help`. */
  help: string;
  /** The flag definitions (`-h, --help` is added). */
  flags: ParseArgsConfig["options"];
  /** Whether the command takes arguments that are not flags. */
  positionals?: boolean;
  /** The arguments (default `Deno.args`). */
  args?: string[];
}

/**
 * Runs a command's `main` through {@linkcode runMain}: parses the arguments
 * with {@linkcode parseFlags} and answers `-h`/`--help` with the usage text
 * (exit code 0) before `main` sees them, so every command handles help and
 * flag mistakes the same way.
 */
export function runCommand(
  main: (parsed: ParsedArgs) => Promise<number | void>,
  options: CommandOptions,
): Promise<void> {
  return runMain(async () => {
    const parsed = parseFlags(options.args ?? Deno.args, {
      flags: { ...options.flags, ...HELP_FLAG },
      positionals: options.positionals,
    });
    if (parsed.values.help) {
      console.log(options.help);
      return 0;
    }
    return await main(parsed);
  });
}

/** Reads a flag that must be one of `choices` (its default comes from the flag config). */
export function choiceFlag<const T extends string>(
  values: Flags,
  name: string,
  choices: readonly T[],
): T {
  const raw = values[name];
  if (
    typeof raw !== "string" || !(choices as readonly string[]).includes(raw)
  ) {
    throw new UsageError(
      `--${name} must be ${choices.join(" or ")}, not "${raw}"`,
    );
  }
  return raw as T;
}
