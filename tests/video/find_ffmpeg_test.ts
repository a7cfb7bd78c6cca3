import assert from "node:assert/strict";
import { CaptureError } from "../../lib/video/capture_error.ts";
import {
  findFfmpeg,
  findFfplay,
  runsVersion,
} from "../../lib/video/find_ffmpeg.ts";

const CLIP = new URL("../fixtures/clip/clip.mp4", import.meta.url).pathname;

/** The absolute path of `program` found on PATH, or null. */
function onPath(program: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir === "") continue;
    try {
      if (Deno.statSync(`${dir}/${program}`).isFile) return `${dir}/${program}`;
    } catch {
      // not in this folder
    }
  }
  return null;
}

// A fresh machine with only Node.js/npm has no system ffmpeg: every test
// runs the one findFfmpeg picks (PATH first, else the npm package's binary),
// as the programs themselves do. What only a system install has (ffplay,
// lookup on PATH) is tested when it is there and reported as ignored when not.
const FFMPEG = await findFfmpeg();
const SYSTEM_FFMPEG = await runsVersion("ffmpeg");
const SYSTEM_FFPLAY = await runsVersion("ffplay");

Deno.test("findFfmpeg finds a working ffmpeg and explains a missing one", async () => {
  const out = await new Deno.Command(FFMPEG, { args: ["-version"] }).output();
  assert.ok(out.success);
  // Not on PATH under this name: the npm package's binary, which runs.
  const npm = await findFfmpeg({ name: "ffmpeg-not-installed" });
  assert.match(npm, /@ffmpeg-installer/);
  assert.ok(await runsVersion(npm), `${npm} -version failed`);
  // A path given by the user is taken as it is.
  const absolute = FFMPEG.includes("/") ? FFMPEG : onPath(FFMPEG);
  assert.ok(absolute !== null, `${FFMPEG} is on PATH`);
  assert.equal(await findFfmpeg({ override: absolute }), absolute);
  await assert.rejects(
    findFfmpeg({ override: "/no/such/ffmpeg" }),
    (e: Error) =>
      e instanceof CaptureError && /\/no\/such\/ffmpeg/.test(e.message),
  );
  await assert.rejects(
    findFfmpeg({ override: CLIP }), // exists but is not a program
    /does not run as ffmpeg/,
  );
  await assert.rejects(
    findFfmpeg({ name: "ffmpeg-not-installed", npm: false }),
    (e: Error) =>
      e instanceof CaptureError && /ffmpeg was not found/.test(e.message) &&
      /deno install/.test(e.message) && /--ffmpeg/.test(e.message),
  );
  await assert.rejects(
    findFfplay({ name: "ffplay-not-installed" }),
    /--ffplay/,
  );
});

Deno.test({
  name: "findFfmpeg prefers ffmpeg on PATH to the npm package's",
  // Only a system install puts ffmpeg on PATH.
  ignore: !SYSTEM_FFMPEG,
  fn: async () => {
    assert.equal(await findFfmpeg(), "ffmpeg");
  },
});

Deno.test({
  name: "findFfplay finds ffplay on PATH",
  // ffplay comes only with a system ffmpeg; the npm package has none.
  ignore: !SYSTEM_FFPLAY,
  fn: async () => {
    assert.equal(await findFfplay(), "ffplay");
  },
});
