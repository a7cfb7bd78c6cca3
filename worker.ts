/**
 * A remote recognition worker: connects to a server's backend endpoint and
 * serves frames the server hands it, so capacity grows by starting workers
 * on other machines. The work is {@linkcode startRemoteWorker} in
 * lib/server/remote_worker.ts.
 *
 * ```sh
 * deno task server --backend tcp://0.0.0.0:5556        # on the server
 * deno task worker --connect tcp://SERVER:5556         # on each extra machine
 * ```
 *
 * @module
 */

import {
  endpointFlag,
  numberFlag,
  type ParsedArgs,
  runCommand,
  UsageError,
} from "./lib/cli/flags.ts";
import {
  DETECT_FLAGS,
  DETECT_HELP,
  detectOptionsFrom,
} from "./lib/cli/detect_flags.ts";
import {
  modelFlags,
  modelHelp,
  modelOptionsFrom,
} from "./lib/cli/model_flags.ts";
import { serveUntilShutdown } from "./lib/cli/shutdown.ts";
import { startRemoteWorker } from "./lib/server/remote_worker.ts";

const HELP =
  `facezmq worker: adds recognition capacity to a server from any machine.

Usage: deno task worker --connect ENDPOINT [options]

Give it the same people as the server (the same --train or --model).

  --connect ENDPOINT     the server's backend (its --backend, e.g. tcp://server:5556)
${modelHelp()}
${DETECT_HELP}
  --stats SECONDS        stats line interval (default 10, 0 = off)
  -h, --help             this text
`;

const FLAGS = {
  connect: { type: "string" },
  ...modelFlags(),
  ...DETECT_FLAGS,
  stats: { type: "string", default: "10" },
} as const;

async function main({ values }: ParsedArgs): Promise<number> {
  const endpoint = endpointFlag(values, "connect");
  if (!endpoint) {
    throw new UsageError(
      "--connect ENDPOINT is needed (the server's --backend)",
    );
  }
  const worker = await startRemoteWorker(endpoint, {
    ...modelOptionsFrom(values),
    detect: detectOptionsFrom(values),
    statsSeconds: numberFlag(values, "stats", { min: 0 }),
  });
  await serveUntilShutdown(worker);
  return 0;
}

if (import.meta.main) runCommand(main, { help: HELP, flags: FLAGS });
