/**
 * Finding the ffmpeg and ffplay programs: a path the user gave
 * (`--ffmpeg PATH`, `--ffplay PATH`), else the name on PATH, else (ffmpeg
 * only) the binary shipped by the npm package `@ffmpeg-installer/ffmpeg`, so
 * a machine with no system ffmpeg still works after `deno install`.
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";

/** Version of the npm package that ships an ffmpeg binary (the fallback). */
const NPM_FFMPEG = "npm:@ffmpeg-installer/ffmpeg@1.1.0";
/** Bare specifier used when deno.json maps it (so `deno install` fetches it). */
const BARE_FFMPEG = "@ffmpeg-installer/ffmpeg";

/** Runs `program -version`; true when it starts and exits with status 0. */
export async function runsVersion(program: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(program, {
      args: ["-version"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false;
  }
}

/** Options of {@link findFfmpeg}. */
export interface FindFfmpegOptions {
  /** A path given by the user (`--ffmpeg PATH`): it must exist and run. */
  override?: string;
  /** Program name looked up on PATH; default `"ffmpeg"`. */
  name?: string;
  /** Try the binary of the npm package `@ffmpeg-installer/ffmpeg`; default true. */
  npm?: boolean;
}

/** Checks a user-given program path: it must exist and run `-version`. */
async function checkOverride(path: string, what: string): Promise<string> {
  try {
    Deno.statSync(path);
  } catch {
    throw new CaptureError(
      `${what} not found at ${path} (given with --${what}). ` +
        `Pass the path of an existing ${what} program.`,
    );
  }
  if (!(await runsVersion(path))) {
    throw new CaptureError(
      `${path} (given with --${what}) does not run as ${what}: ` +
        `"${path} -version" failed. Pass the path of a working ${what} program.`,
    );
  }
  return path;
}

/** The path of the ffmpeg binary shipped by the npm package, or null. */
async function npmFfmpegPath(): Promise<string | null> {
  for (const spec of [BARE_FFMPEG, NPM_FFMPEG]) {
    let path: string | undefined;
    try {
      const mod = await import(spec);
      path = mod.default?.path ?? mod.path;
    } catch {
      continue;
    }
    if (typeof path !== "string") continue;
    if (Deno.build.os !== "windows") {
      // Deno does not run the package's postinstall `chmod u+x`.
      try {
        const mode = Deno.statSync(path).mode ?? 0o755;
        if ((mode & 0o100) === 0) Deno.chmodSync(path, mode | 0o755);
      } catch {
        continue;
      }
    }
    if (await runsVersion(path)) return path;
  }
  return null;
}

/**
 * Finds an ffmpeg program that runs: the `override` path if given (it must
 * exist and run), else `ffmpeg` on PATH, else the binary shipped inside the
 * npm package `@ffmpeg-installer/ffmpeg`. Throws a {@link CaptureError}
 * saying how to get one when there is none.
 */
export async function findFfmpeg(
  options: FindFfmpegOptions = {},
): Promise<string> {
  if (options.override !== undefined) {
    return await checkOverride(options.override, "ffmpeg");
  }
  const name = options.name ?? "ffmpeg";
  if (await runsVersion(name)) return name;
  if (options.npm ?? true) {
    const path = await npmFfmpegPath();
    if (path !== null) return path;
  }
  throw new CaptureError(
    `ffmpeg was not found: "${name}" is not on PATH and the npm package ` +
      `@ffmpeg-installer/ffmpeg is not installed. Install ffmpeg with your ` +
      `package manager (apt install ffmpeg, brew install ffmpeg, ` +
      `winget install ffmpeg), or run "deno install" so the npm ffmpeg is ` +
      `fetched, or pass --ffmpeg PATH.`,
  );
}

/** Options of {@link findFfplay}. */
export interface FindFfplayOptions {
  /** A path given by the user (`--ffplay PATH`): it must exist and run. */
  override?: string;
  /** Program name looked up on PATH; default `"ffplay"`. */
  name?: string;
}

/**
 * Finds an ffplay program that runs: the `override` path if given, else
 * `ffplay` on PATH. Throws a {@link CaptureError} saying how to get one.
 */
export async function findFfplay(
  options: FindFfplayOptions = {},
): Promise<string> {
  if (options.override !== undefined) {
    return await checkOverride(options.override, "ffplay");
  }
  const name = options.name ?? "ffplay";
  if (await runsVersion(name)) return name;
  throw new CaptureError(
    `ffplay was not found: "${name}" is not on PATH. It comes with ffmpeg: ` +
      `install ffmpeg with your package manager (apt install ffmpeg, ` +
      `brew install ffmpeg, winget install ffmpeg), or pass --ffplay PATH.`,
  );
}
