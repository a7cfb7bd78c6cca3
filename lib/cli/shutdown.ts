/**
 * SIGINT and SIGTERM as an `AbortSignal`: long-running commands (server,
 * worker, client) pass the signal to their library function, which stops
 * cleanly when it aborts.
 *
 * @module
 */

/** A shutdown request; dispose of it to remove the signal listeners. */
export interface Shutdown extends Disposable {
  /** Aborts on the first SIGINT or SIGTERM; its `reason` is the signal's name. */
  readonly signal: AbortSignal;
}

/** Options for {@linkcode onShutdown}. */
export interface ShutdownOptions {
  /**
   * Told `"SIGTERM: shutting down"` (or SIGINT) when a signal arrives, so a
   * log shows why the process stopped. Default: silent.
   */
  log?: (line: string) => void;
}

/**
 * Listens for SIGINT and SIGTERM (SIGINT only on Windows) and aborts the
 * returned signal on the first one.
 */
export function onShutdown(options: ShutdownOptions = {}): Shutdown {
  const controller = new AbortController();
  const names: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT"]
    : ["SIGINT", "SIGTERM"];
  const listeners = names.map((name) => {
    const listener = () => {
      if (controller.signal.aborted) return;
      options.log?.(`${name}: shutting down`);
      controller.abort(name);
    };
    Deno.addSignalListener(name, listener);
    return [name, listener] as const;
  });
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const [name, listener] of listeners) {
        Deno.removeSignalListener(name, listener);
      }
    },
  };
}

/** A running service that {@linkcode serveUntilShutdown} waits for. */
export interface Service {
  /** One line about what it serves, printed after `ready: `. */
  summary: string;
  /** Stops it; `done` settles once it has. */
  close(): unknown;
  /** Settles when it has stopped. */
  done: Promise<void>;
}

/**
 * Prints `ready: SUMMARY` (the line `spawnProject` waits for), closes
 * `service` on SIGINT or SIGTERM (logged on stderr) and waits until it has
 * stopped. Signals are listened for only from here on: a signal while the
 * service is still starting (training) stops the process at once.
 */
export async function serveUntilShutdown(service: Service): Promise<void> {
  using shutdown = onShutdown({ log: (line) => console.error(line) });
  shutdown.signal.onabort = () => service.close();
  console.log(`ready: ${service.summary}`);
  await service.done;
}
