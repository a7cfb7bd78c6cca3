import assert from "node:assert/strict";
import {
  choiceFlag,
  endpointFlag,
  numberFlag,
  parseFlags,
  parseSize,
  UsageError,
} from "../../lib/cli/flags.ts";

Deno.test("parseFlags turns unknown flags into a UsageError that points to --help", () => {
  assert.throws(
    () => parseFlags(["--nope"], { flags: { size: { type: "string" } } }),
    (error: unknown) =>
      error instanceof UsageError && /--nope.*see --help/.test(error.message),
  );
  const { values } = parseFlags(["--size", "320x240"], {
    flags: { size: { type: "string" } },
  });
  assert.equal(values.size, "320x240");
});

Deno.test("numberFlag checks numbers and ranges", () => {
  assert.equal(numberFlag({ n: "3" }, "n", { min: 1, integer: true }), 3);
  assert.equal(numberFlag({}, "n"), undefined);
  assert.throws(
    () => numberFlag({ n: "x" }, "n"),
    /--n needs a number, not "x"/,
  );
  assert.throws(
    () => numberFlag({ n: "1.5" }, "n", { integer: true }),
    /whole number/,
  );
  assert.throws(
    () => numberFlag({ n: "0" }, "n", { min: 1, max: 9 }),
    /from 1 to 9/,
  );
});

Deno.test("choiceFlag accepts only the listed words", () => {
  assert.equal(choiceFlag({ view: "web" }, "view", ["web", "none"]), "web");
  assert.throws(
    () => choiceFlag({ view: "tv" }, "view", ["web", "none"]),
    /--view must be web or none, not "tv"/,
  );
});

Deno.test("parseSize reads WIDTHxHEIGHT within bounds", () => {
  assert.deepEqual(parseSize("640x480"), { width: 640, height: 480 });
  assert.throws(() => parseSize("640"), /WIDTHxHEIGHT/);
  assert.throws(() => parseSize("8x8"), /between 16x16 and 4096x4096/);
});

Deno.test("endpointFlag accepts ZeroMQ endpoints and explains the others", () => {
  for (
    const endpoint of [
      "tcp://127.0.0.1:5555",
      "tcp://*:5555",
      "tcp://127.0.0.1:*",
      "tcp://[::1]:5555",
      "ipc:///tmp/facezmq",
      "inproc://workers",
    ]
  ) {
    assert.equal(endpointFlag({ connect: endpoint }, "connect"), endpoint);
  }
  assert.equal(endpointFlag({}, "connect"), undefined);
  assert.throws(
    () => endpointFlag({ connect: "127.0.0.1:5555" }, "connect"),
    /^UsageError: --connect needs an endpoint like tcp:\/\/127\.0\.0\.1:5555 \(tcp:\/\/HOST:PORT or ipc:\/\/PATH\), not "127\.0\.0\.1:5555" \(did you mean tcp:\/\/127\.0\.0\.1:5555\?\)$/,
  );
  assert.throws(
    () => endpointFlag({ bind: "tcp://localhost" }, "bind"),
    /--bind needs an endpoint like .*, not "tcp:\/\/localhost"$/,
  );
  assert.throws(
    () => endpointFlag({ bind: "http://localhost:80" }, "bind"),
    /--bind needs an endpoint/,
  );
});

Deno.test("entry points print one clear line for a user mistake, without a stack trace", async () => {
  const root = new URL("../../", import.meta.url).pathname;
  for (
    const [script, args, message] of [
      [
        "server.ts",
        ["--faces", "sideways"],
        /^error: --faces must be detect or whole, not "sideways"$/m,
      ],
      ["train.ts", [], /^error: --out FILE is needed/m],
      [
        "recognize.ts",
        ["--model", "/nonexistent/model.yml", "x.jpg"],
        /^error: .*model\.yml/m,
      ],
      ["client.ts", ["--size", "huge"], /^error: --size needs WIDTHxHEIGHT/m],
      ["worker.ts", [], /^error: --connect ENDPOINT is needed/m],
      [
        "server.ts",
        ["--ambiguity", "2"],
        /^error: --ambiguity needs a number from 0 to 1, not "2"$/m,
      ],
    ] as const
  ) {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}${script}`, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(result.stderr);
    assert.equal(result.code, 1, `${script}: ${stderr}`);
    assert.match(stderr, message, script);
    assert.doesNotMatch(stderr, /^\s+at /m, `${script} printed a stack trace`);
  }
});
