/**
 * The recognition server: trains (or loads) the recogniser, then answers
 * frames on a ZeroMQ ROUTER socket, shared out to recognition workers behind
 * a DEALER backend. The work is {@linkcode startServer} in
 * lib/server/server.ts.
 *
 * ```sh
 * deno task server [--bind tcp://127.0.0.1:5555] [--train train | --model model.yml]
 * ```
 *
 * @module
 */

import {
  endpointFlag,
  type Flags,
  numberFlag,
  type ParsedArgs,
  runCommand,
  stringFlag,
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
import { type ServerOptions, startServer } from "./lib/server/server.ts";

const HELP = `facezmq server: recognises faces in the frames clients send.

Usage: deno task server [options]

  --bind ENDPOINT        where clients connect (default tcp://127.0.0.1:5555;
                         tcp://0.0.0.0:5555 to accept other machines)
${modelHelp()}
  --workers N            recognition threads (default: number of cores;
                         0 with --backend: remote workers only)
  --backend ENDPOINT     also let remote workers connect here
                         (e.g. tcp://0.0.0.0:5556; see "deno task worker")
${DETECT_HELP}
  --max-message-size N   largest request in bytes (default 64 MiB)
  --stats SECONDS        stats line interval (default 10, 0 = off)
  --curve-secret FILE    encrypt with CURVE using this server secret key
                         (make one with "deno task keys server")
  --allow-clients DIR    with --curve-secret: only clients whose public key
                         (*.pub) is in DIR get in (and may enrol faces)
  --allow-enrol          let any client enrol faces ("deno task enroll"):
                         photos go to the --train folder (or FILE.faces/ with
                         --model FILE, which is rewritten with them)
  -h, --help             this text
`;

const FLAGS = {
  bind: { type: "string", default: "tcp://127.0.0.1:5555" },
  ...modelFlags(),
  workers: { type: "string" },
  backend: { type: "string" },
  ...DETECT_FLAGS,
  "max-message-size": { type: "string" },
  stats: { type: "string", default: "10" },
  "curve-secret": { type: "string" },
  "allow-clients": { type: "string" },
  "allow-enrol": { type: "boolean" },
} as const;

async function main({ values }: ParsedArgs): Promise<number> {
  await serveUntilShutdown(await startServer(serverOptionsFrom(values)));
  return 0;
}

/** The server the flags describe. */
function serverOptionsFrom(values: Flags): ServerOptions {
  const options: ServerOptions = {
    bind: endpointFlag(values, "bind"),
    ...modelOptionsFrom(values),
    workers: numberFlag(values, "workers", { min: 0, max: 64, integer: true }),
    backend: endpointFlag(values, "backend"),
    detect: detectOptionsFrom(values),
    maxMessageSize: numberFlag(values, "max-message-size", {
      min: 1024,
      integer: true,
    }),
    statsSeconds: numberFlag(values, "stats", { min: 0 }),
    curveSecret: stringFlag(values, "curve-secret"),
    allowClients: stringFlag(values, "allow-clients"),
    allowEnrol: values["allow-enrol"] === true,
  };
  if (options.workers === 0 && options.backend === undefined) {
    throw new UsageError(
      "--workers 0 needs --backend (remote workers do all the work then)",
    );
  }
  if (options.allowClients !== undefined && !options.curveSecret) {
    throw new UsageError("--allow-clients needs --curve-secret");
  }
  return options;
}

if (import.meta.main) runCommand(main, { help: HELP, flags: FLAGS });
