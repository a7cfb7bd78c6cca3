/**
 * `deno task keys NAME [--dir DIR] [--force]`: makes a CURVE key pair,
 * `DIR/NAME.key` (secret, mode 0600) and `DIR/NAME.pub` (public), with
 * {@linkcode writeKeyPair} of lib/zmq/curve.ts.
 *
 * Give the server's `.pub` to clients (`--curve-server-key`), and put the
 * clients' `.pub` files in the server's `--allow-clients` directory.
 *
 * @module
 */

import {
  type ParsedArgs,
  runCommand,
  stringFlag,
  UsageError,
} from "./lib/cli/flags.ts";
import { writeKeyPair } from "./lib/zmq/curve.ts";

const HELP = `facezmq keys: makes a CURVE key pair.

Usage: deno task keys NAME [--dir DIR] [--force]

Writes DIR/NAME.key (secret, readable by you only) and DIR/NAME.pub
(public). Existing files are kept unless --force is given.

  --dir DIR              where to write them (default keys)
  --force                replace existing files
  -h, --help             this text
`;

const FLAGS = {
  dir: { type: "string", default: "keys" },
  force: { type: "boolean" },
} as const;

async function main({ values, positionals }: ParsedArgs): Promise<number> {
  if (positionals.length !== 1) {
    throw new UsageError("give exactly one NAME, e.g. deno task keys server");
  }
  const written = await writeKeyPair(positionals[0], {
    dir: stringFlag(values, "dir"),
    force: values.force === true,
  });
  console.log(`secret key: ${written.secretPath} (keep it private)`);
  console.log(`public key: ${written.publicPath} ${written.publicKey}`);
  return 0;
}

if (import.meta.main) {
  runCommand(main, { help: HELP, flags: FLAGS, positionals: true });
}
