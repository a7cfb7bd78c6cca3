import assert from "node:assert/strict";
import { parseFlags } from "../../lib/cli/flags.ts";
import { DETECT_FLAGS, detectOptionsFrom } from "../../lib/cli/detect_flags.ts";
import { SERVER_DETECT_OPTIONS } from "../../lib/face/detector.ts";

Deno.test("detection flags default to the server's options and override them one by one", () => {
  const none = parseFlags([], { flags: DETECT_FLAGS }).values;
  assert.deepEqual(detectOptionsFrom(none), SERVER_DETECT_OPTIONS);
  const some = parseFlags(
    [
      "--detect-width",
      "0",
      "--scale-factor",
      "1.1",
      "--min-neighbors",
      "3",
      "--min-size",
      "30",
    ],
    { flags: DETECT_FLAGS },
  ).values;
  assert.deepEqual(detectOptionsFrom(some), {
    ...SERVER_DETECT_OPTIONS,
    maxWidth: 0,
    scaleFactor: 1.1,
    minNeighbors: 3,
    minSize: 30,
  });
  const classic = parseFlags(
    ["--cascade", "default", "--one-pass"],
    { flags: DETECT_FLAGS },
  ).values;
  assert.deepEqual(detectOptionsFrom(classic), {
    ...SERVER_DETECT_OPTIONS,
    cascade: "default",
    confirm: false,
  });
  const bad =
    parseFlags(["--scale-factor", "1"], { flags: DETECT_FLAGS }).values;
  assert.throws(
    () => detectOptionsFrom(bad),
    /--scale-factor needs a number from 1.01 to 3/,
  );
});
