/**
 * The `--view web` page in a real browser: a server and a client process on
 * the fixture clip (played in a loop at its own rate), and headless chromium
 * on the client's page. Without chromium the test is reported as ignored.
 */

// The callbacks given to page.evaluate run in chromium: DOM types.
/// <reference lib="dom" />

import assert from "node:assert/strict";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { findFfmpeg } from "../../lib/video/find_ffmpeg.ts";
import {
  type ClientProcess,
  PROJECT_ROOT,
  type ServerProcess,
  spawnClient,
  startServer,
  waitUntil,
} from "../support/processes.ts";

const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
  .find((path) => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
const hasChromium = CHROMIUM !== undefined;
const CLIP = `${PROJECT_ROOT}tests/fixtures/clip/clip.mp4`;
/** The clip's people (train/): one of them must be listed. */
const CLIP_PEOPLE = ["s1", "s2"];
const WAIT_MS = 60_000;

/** Headless chromium with a profile of its own, nothing fetched from outside. */
async function launchChromium(profile: string): Promise<Browser> {
  return await puppeteer.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--headless=new",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      `--user-data-dir=${profile}`,
    ],
  });
}

/** The clip 30 times over (a minute), so the client outlives the checks. */
async function loopedClip(dir: string): Promise<string> {
  const out = `${dir}/looped.mp4`;
  const ffmpeg = await findFfmpeg();
  const { code, stderr } = await new Deno.Command(ffmpeg, {
    args: ["-v", "error", "-stream_loop", "29", "-i", CLIP, "-c", "copy", out],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return out;
}

/** A hash of what the stream's <img> shows now, drawn into a canvas. */
function streamPixels(page: Page): Promise<number> {
  return page.evaluate(() => {
    const img = document.getElementById("stream") as HTMLImageElement;
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d")!;
    context.drawImage(img, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let hash = 0;
    for (let i = 0; i < data.length; i += 7) {
      hash = (hash * 31 + data[i]) | 0;
    }
    return hash;
  });
}

Deno.test({
  name: "the web page shows the stream, who is here and unknown faces to name",
  ignore: !hasChromium,
  // puppeteer keeps timers and sockets of its own until the browser is gone.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "facezmq_web_" });
    let server: ServerProcess | undefined;
    let client: ClientProcess | undefined;
    let browser: Browser | undefined;
    try {
      const input = await loopedClip(dir);
      server = await startServer([
        "--train",
        "train",
        "--workers",
        "1",
        "--stats",
        "0",
      ]);
      client = spawnClient([
        "--connect",
        server.endpoint,
        "--input",
        input,
        "--view",
        "web",
        "--port",
        "0",
      ]);
      const running = client;
      await waitUntil(() => /view: open (\S+) /.test(running.stderr()), {
        timeoutMs: WAIT_MS,
        what: `the client's web address; stderr: ${running.stderr()}`,
      });
      const url = running.stderr().match(/view: open (\S+) /)![1];
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, "this machine only");

      browser = await launchChromium(`${dir}/profile`);
      const page = await browser.newPage();
      page.setDefaultTimeout(WAIT_MS);
      const pageErrors: string[] = [];
      page.on("pageerror", (error) => pageErrors.push(String(error)));
      await page.goto(url, { waitUntil: "domcontentloaded" });

      // The stream shows frames, and they change.
      await page.waitForFunction(() =>
        (document.getElementById("stream") as HTMLImageElement)
          .naturalWidth > 0
      );
      const size = await page.$eval("#stream", (img) => [
        (img as HTMLImageElement).naturalWidth,
        (img as HTMLImageElement).naturalHeight,
      ]);
      assert.deepEqual(size, [640, 480]);
      const first = await streamPixels(page);
      const deadline = Date.now() + WAIT_MS;
      while (await streamPixels(page) === first) {
        assert.ok(Date.now() < deadline, "the stream never changed");
        await new Promise((r) => setTimeout(r, 100));
      }

      // A person of the clip is listed as here now, with since and how sure.
      const person = await page.waitForFunction(
        (names: string[]) =>
          [...document.querySelectorAll("#people li.known")].find((li) =>
            names.includes(li.querySelector(".name")?.textContent ?? "")
          )?.textContent,
        {},
        CLIP_PEOPLE,
      );
      assert.match(String(await person.jsonValue()), /\d+%.*since \d/);
      assert.equal(
        await page.$eval(
          "#figures #fps",
          (b) => /^\d+\.\d$/.test(b.textContent!),
        ),
        true,
      );

      // An unknown face appears as a thumbnail.
      await page.waitForFunction(() =>
        [...document.querySelectorAll<HTMLImageElement>("#unknowns li img")]
          .some((img) => img.complete && img.naturalWidth > 0)
      );
      const thumbnail = await page.$eval(
        "#unknowns li img",
        (img) => (img as HTMLImageElement).src,
      );
      assert.match(thumbnail, /\/unknown\/\d+\.jpg\?v=\d+$/);

      // Enrolment is not wired into the client yet: the box says it is off,
      // and naming someone posts to /enrol and shows the answer.
      assert.match(
        await page.$eval(
          "#enrol-off",
          (p) => (p as HTMLElement).hidden ? "" : p.textContent!,
        ),
        /^Enrolment is off/,
      );
      const card = (await page.$("#unknowns li"))!;
      await (await card.$("input"))!.type("Ada");
      const [response] = await Promise.all([
        page.waitForResponse((r) =>
          new URL(r.url()).pathname === "/enrol" &&
          r.request().method() === "POST"
        ),
        (await card.$("button"))!.click(),
      ]);
      assert.deepEqual(JSON.parse(response.request().postData()!), {
        track: Number(await card.evaluate((li) => li.dataset.track)),
        name: "Ada",
      });
      assert.equal(response.status(), 503);
      await page.waitForFunction(
        (li: Element) =>
          /^enrolment is off/.test(
            li.querySelector(".message")?.textContent ?? "",
          ),
        {},
        card,
      );
      // The named card stays while its answer is shown, even if the face left.
      assert.equal(await card.evaluate((li) => li.isConnected), true);
      assert.deepEqual(pageErrors, []);

      await browser.close();
      running.kill("SIGTERM");
      const run = await running.finished;
      assert.equal(run.code, 0, run.stderr);
    } finally {
      await browser?.close();
      client?.kill("SIGTERM");
      await client?.finished;
      await server?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
