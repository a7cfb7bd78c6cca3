/**
 * Takes the README's picture of the `--view web` page: a server on train/,
 * a client playing a stretch of samples/sample.mp4 with a known and an
 * unknown person in it (each followed as one track: `#N` on the boxes and
 * in the list), and headless chromium on the client's page.
 *
 * ```sh
 * deno run -A tools/screenshot.ts [--out docs/web_page.png] [--chromium /usr/bin/chromium]
 * ```
 *
 * @module
 */

// The callbacks given to page.evaluate run in chromium: DOM types.
/// <reference lib="dom" />

import { parseArgs } from "node:util";
import type { Browser } from "puppeteer-core";
import { launchChromium } from "../tests/support/browser.ts";
import {
  PROJECT_ROOT,
  type ReadyProcess,
  spawnProject,
} from "../lib/cli/spawn.ts";
import { findFfmpeg } from "../lib/video/find_ffmpeg.ts";

const WIDTH = 1000;
const HEIGHT = 620;
const WAIT_MS = 60_000;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: `${PROJECT_ROOT}docs/web_page.png` },
      chromium: { type: "string", default: "/usr/bin/chromium" },
    },
  });
  const dir = await Deno.makeTempDir({ prefix: "facezmq_screenshot_" });
  let server: ReadyProcess | undefined;
  let client: ReadyProcess | undefined;
  let browser: Browser | undefined;
  try {
    // Frames 96-150 of the sample, played forwards and backwards for 26 s:
    // two people stay in view, moving smoothly, one the recogniser names
    // (s2) and one it does not (s1, trained, but at distances just over
    // the threshold from this angle): each keeps one track and one name,
    // so the page settles on one known person and one unknown face.
    const input = `${dir}/sample.mp4`;
    const ffmpeg = await findFfmpeg();
    await run(ffmpeg, [
      ...["-v", "error", "-i", `${PROJECT_ROOT}samples/sample.mp4`],
      "-filter_complex",
      "[0:v]trim=start_frame=96:end_frame=151,setpts=PTS-STARTPTS," +
      "split[a][b];[b]reverse[r];[a][r]concat=n=2:v=1," +
      "loop=loop=6:size=110:start=0,setpts=N/30/TB[out]",
      ...["-map", "[out]", "-r", "30", "-c:v", "mpeg4", "-q:v", "2", input],
    ]);

    server = await spawnProject("server", [
      ...["--train", "train", "--workers", "1", "--stats", "0"],
    ]);
    client = await spawnProject("client", [
      ...["--connect", server.endpoint, "--input", input],
      ...["--view", "web", "--port", "0"],
    ], { ready: /view: open (\S+) in a browser/ });

    browser = await launchChromium({
      executablePath: values.chromium,
      profile: `${dir}/profile`,
      args: ["--hide-scrollbars"],
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(WAIT_MS);
    await page.setViewport({ width: WIDTH, height: HEIGHT });
    await page.goto(client.endpoint, { waitUntil: "domcontentloaded" });
    await page.waitForFunction(() =>
      document.querySelector("#people li.known") !== null &&
      document.querySelector("#people li.stranger") !== null &&
      [...document.querySelectorAll<HTMLImageElement>("#unknowns img")]
        .some((img) => img.complete && img.naturalWidth > 0)
    );
    // A few seconds on, "since" and the fps read as they do in use.
    await new Promise((r) => setTimeout(r, 3000));
    const shot = `${dir}/page.png`;
    await page.screenshot({ path: shot, type: "png", fullPage: true });
    // 256 colours: a third of the bytes, and the page looks the same.
    await run(ffmpeg, [
      ...["-v", "error", "-y", "-i", shot, "-vf"],
      "split[a][b];[a]palettegen=max_colors=256[p];[b][p]paletteuse=dither=none",
      values.out,
    ]);
    const bytes = (await Deno.stat(values.out)).size;
    console.log(`${values.out}: ${WIDTH} px wide, ${bytes} bytes`);
  } finally {
    await browser?.close();
    await client?.stop();
    await server?.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

/** Runs `program ARGS`; throws with its stderr when it fails. */
async function run(program: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command(program, { args }).output();
  if (code !== 0) {
    throw new Error(`${program} failed: ${new TextDecoder().decode(stderr)}`);
  }
}

if (import.meta.main) await main();
