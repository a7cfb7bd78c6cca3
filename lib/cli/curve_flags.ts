/**
 * The CURVE flags of the commands that connect to a server as a client
 * (`client`, `enroll`): `--curve-server-key` and `--curve-secret`, which
 * go together.
 *
 * @module
 */

import { type Flags, stringFlag, UsageError } from "./flags.ts";
import { loadClientKeys } from "../zmq/curve.ts";

/** The flag definitions, for `parseFlags`. */
export const CURVE_CLIENT_FLAGS = {
  "curve-server-key": { type: "string" },
  "curve-secret": { type: "string" },
} as const;

/** The help lines for {@linkcode CURVE_CLIENT_FLAGS}. */
export const CURVE_CLIENT_HELP =
  `  --curve-server-key F   the server's public key (.pub) for an encrypted link
  --curve-secret F       this client's secret key (.key), with the above`;

/**
 * The client's CURVE keys, loaded from the files the flags name, or
 * undefined for a plaintext link. One flag without the other is a
 * {@linkcode UsageError}: half a key pair cannot encrypt anything.
 */
export async function curveClientFrom(
  values: Flags,
): Promise<Awaited<ReturnType<typeof loadClientKeys>> | undefined> {
  const serverKey = stringFlag(values, "curve-server-key");
  const clientSecret = stringFlag(values, "curve-secret");
  if ((serverKey === undefined) !== (clientSecret === undefined)) {
    throw new UsageError("--curve-server-key and --curve-secret go together");
  }
  return serverKey ? await loadClientKeys(serverKey, clientSecret!) : undefined;
}
