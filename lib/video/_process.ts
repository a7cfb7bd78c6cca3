/**
 * Child-process plumbing shared by capture (both threads) and output:
 * spawning ffmpeg or ffplay with a clear error when the program is missing,
 * and keeping the last lines of its stderr for error messages.
 *
 * @module
 */

import { CaptureError } from "./capture_error.ts";

/** Number of stderr lines kept for error messages. */
export const STDERR_LINES = 20;

/** Keeps the last {@link STDERR_LINES} lines of a text stream. */
export class LineTail {
  /** Complete lines kept so far, oldest first. */
  lines: string[] = [];
  #partial = "";

  /** Adds a chunk of text, which may end mid-line. */
  push(text: string): void {
    const parts = (this.#partial + text).split(/\r?\n/);
    this.#partial = parts.pop() ?? "";
    for (const line of parts) {
      if (line.trim() !== "") this.lines.push(line);
    }
    if (this.lines.length > STDERR_LINES) {
      this.lines.splice(0, this.lines.length - STDERR_LINES);
    }
  }

  /** The kept lines, with an unfinished last line too. */
  text(): string {
    const all = this.#partial.trim() !== ""
      ? [...this.lines, this.#partial]
      : this.lines;
    return all.join("\n");
  }
}

/** Reads a child's stderr into a tail of lines until it closes. */
export async function collectStderr(
  stream: ReadableStream<Uint8Array>,
  tail: LineTail,
): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) {
      tail.push(decoder.decode(chunk, { stream: true }));
    }
  } catch {
    // Stream cancelled on close.
  }
}

/** The file name of a program path, as a person would call it. */
export function programName(program: string): string {
  return program.replace(/^.*[\\/]/, "");
}

/** The error for a program that is not there. */
export function notFoundError(program: string): CaptureError {
  const name = programName(program);
  const flag = name.startsWith("ffplay") ? "ffplay" : "ffmpeg";
  return new CaptureError(
    `${name} was not found (tried to run "${program}"). Install ffmpeg ` +
      `with your package manager (apt install ffmpeg, brew install ffmpeg, ` +
      `winget install ffmpeg) or pass --${flag} PATH.`,
  );
}

/** Spawns a program with stderr piped, turning "not found" into a CaptureError. */
export function spawn(
  program: string,
  args: string[],
  io: { stdin: "piped" | "null"; stdout: "piped" | "null" },
): Deno.ChildProcess {
  try {
    return new Deno.Command(program, {
      args,
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: "piped",
    }).spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw notFoundError(program);
    throw err;
  }
}

/**
 * True when the program is a file on PATH (or at its path). The capture
 * spawns ffmpeg in a worker, where a failed spawn would only surface at the
 * first `next()`; this check lets a missing ffmpeg fail at once.
 */
export function programExists(program: string): boolean {
  const candidates: string[] = [];
  if (/[\\/]/.test(program)) {
    candidates.push(program);
  } else {
    const sep = Deno.build.os === "windows" ? ";" : ":";
    const exts = Deno.build.os === "windows"
      ? ["", ...(Deno.env.get("PATHEXT") ?? ".EXE").split(";")]
      : [""];
    for (const dir of (Deno.env.get("PATH") ?? "").split(sep)) {
      if (dir === "") continue;
      for (const ext of exts) candidates.push(`${dir}/${program}${ext}`);
    }
  }
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return true;
    } catch {
      // Not there.
    }
  }
  return false;
}
