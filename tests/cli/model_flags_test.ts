import assert from "node:assert/strict";
import { parseFlags, UsageError } from "../../lib/cli/flags.ts";
import {
  modelFlags,
  modelHelp,
  modelOptionsFrom,
} from "../../lib/cli/model_flags.ts";

function parse(args: string[], ...names: Parameters<typeof modelFlags>) {
  return modelOptionsFrom(
    parseFlags(args, { flags: modelFlags(...names) }).values,
  );
}

Deno.test("model flags: defaults, and every value read", () => {
  assert.deepEqual(parse([]), {
    model: undefined,
    train: undefined,
    faces: "detect",
    recognizer: "lbph",
    threshold: undefined,
    ambiguity: undefined,
  });
  assert.deepEqual(
    parse([
      "--train",
      "people",
      "--faces",
      "whole",
      "--recognizer",
      "resnet",
      "--threshold",
      "80",
      "--ambiguity",
      "0.9",
    ]),
    {
      model: undefined,
      train: "people",
      faces: "whole",
      recognizer: "resnet",
      threshold: 80,
      ambiguity: 0.9,
    },
  );
});

Deno.test("model flags: mistakes are one clear UsageError", () => {
  for (
    const [args, message] of [
      [["--recognizer", "eigen"], /--recognizer must be lbph or resnet/],
      [["--faces", "sideways"], /--faces must be detect or whole/],
      [["--train", "a", "--model", "b"], /give --train or --model, not both/],
      [["--ambiguity", "2"], /--ambiguity needs a number from 0 to 1/],
    ] as const
  ) {
    assert.throws(
      () => parse([...args]),
      (error: unknown) =>
        error instanceof UsageError && message.test(error.message),
    );
  }
});

Deno.test("model flags: a command takes only its subset", () => {
  assert.deepEqual(Object.keys(modelFlags("train", "faces")), [
    "train",
    "faces",
  ]);
  assert.throws(
    () => parse(["--model", "m.yml"], "train", "faces"),
    /Unknown option '--model'/,
  );
  assert.equal(parse([], "train").recognizer, "lbph");
  const help = modelHelp("threshold", "train");
  assert.match(help, /^ {2}--train DIR .*\n {2}--threshold N/);
  assert.doesNotMatch(help, /--model/);
  assert.match(modelHelp(), /--recognizer lbph\|resnet/);
});
