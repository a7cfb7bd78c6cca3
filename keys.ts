/**
 * `deno task keys NAME [--dir DIR] [--force]`: makes a CURVE key pair,
 * `DIR/NAME.key` (secret, mode 0600) and `DIR/NAME.pub` (public).
 *
 * Give the server's `.pub` to clients (`--curve-server-key`), and put the
 * clients' `.pub` files in the server's `--allow-clients` directory.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { writeKeyPair } from "./lib/zmq/curve.ts";

const USAGE = `usage: deno task keys NAME [--dir DIR] [--force]

Writes a CURVE key pair: DIR/NAME.key (secret, readable by you only) and
DIR/NAME.pub (public). DIR defaults to keys/. Existing files are kept
unless --force is given.`;

/** Runs the command line; returns the process exit code. */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        dir: { type: "string", default: "keys" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(USAGE);
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    console.error(`error: expected exactly one NAME\n\n${USAGE}`);
    return 2;
  }
  const name = parsed.positionals[0];
  try {
    const written = await writeKeyPair(name, {
      dir: parsed.values.dir,
      force: parsed.values.force,
    });
    console.log(`secret key: ${written.secretPath} (keep it private)`);
    console.log(`public key: ${written.publicPath} ${written.publicKey}`);
    return 0;
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
