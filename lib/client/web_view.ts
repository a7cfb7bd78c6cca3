/**
 * The client's `--view web` page: a local HTTP server that shows the
 * annotated stream live (MJPEG) with fps and latency.
 *
 * @module
 */

/** Figures shown under the picture. */
export interface ViewInfo {
  /** Frames processed so far. */
  frames: number;
  /** Frames per second over the last window. */
  fps: number;
  /** Latest round-trip latency in milliseconds. */
  latencyMs: number;
  /** Names seen in the latest frame. */
  labels: string[];
  /** A status line, e.g. "server not answering". */
  status?: string;
}

/** A running web view. */
export interface WebView {
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  url: string;
  /** True while at least one browser is watching the stream. */
  readonly watching: boolean;
  /** Shows a new JPEG frame and its figures. */
  publish(jpeg: Uint8Array, info: ViewInfo): void;
  /** Stops the server and ends every open stream. */
  close(): Promise<void>;
}

/** Options for {@linkcode startWebView}. */
export interface WebViewOptions {
  /** Interface to listen on. Default 127.0.0.1 (this machine only). */
  hostname?: string;
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
}

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>facezmq</title>
<style>body{font-family:sans-serif;background:#111;color:#eee;margin:1em}
img{max-width:100%;border:1px solid #444}#info{margin-top:.5em;font-size:1.1em}</style>
</head><body><h1>facezmq</h1><img src="/stream" alt="annotated stream">
<div id="info">waiting for frames...</div>
<script>
async function poll() {
  try {
    const r = await fetch("/stats");
    const s = await r.json();
    document.getElementById("info").textContent =
      s.frames + " frames, " + s.fps.toFixed(1) + " fps, latency " +
      s.latencyMs.toFixed(1) + " ms" + (s.labels.length ? ", faces: " + s.labels.join(", ") : "") +
      (s.status ? " (" + s.status + ")" : "");
  } catch (_) { /* the client has stopped */ }
  setTimeout(poll, 500);
}
poll();
</script></body></html>`;

const BOUNDARY = "facezmqframe";

/** `Deno.serve`, with a busy port explained in one line. */
function serve(
  address: { hostname: string; port: number },
  handler: Deno.ServeHandler,
): Deno.HttpServer {
  try {
    return Deno.serve({ ...address, onListen: () => {} }, handler);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    throw new Deno.errors.AddrInUse(
      `${address.hostname}:${address.port} is in use (another client's ` +
        `web view?): give the web view another port with --port N, or --view none`,
    );
  }
}

/**
 * Starts the web view. Frames are pushed with `publish`; each browser gets the
 * newest frame only, so a slow browser never delays the pipeline.
 */
export function startWebView(options: WebViewOptions = {}): WebView {
  const hostname = options.hostname ?? "127.0.0.1";
  const encoder = new TextEncoder();
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  let info: ViewInfo = { frames: 0, fps: 0, latencyMs: 0, labels: [] };

  const port = options.port ?? 8080;
  const server = serve({ hostname, port }, (request) => {
    const path = new URL(request.url).pathname;
    if (path === "/") {
      return new Response(PAGE, {
        headers: { "content-type": "text/html; charset=utf-8" },
      });
    }
    if (path === "/stats") {
      return Response.json(info);
    }
    if (path === "/stream") {
      let self: ReadableStreamDefaultController<Uint8Array>;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          self = controller;
          streams.add(controller);
        },
        cancel() {
          streams.delete(self);
        },
      }, { highWaterMark: 2 });
      return new Response(body, {
        headers: {
          "content-type": `multipart/x-mixed-replace; boundary=${BOUNDARY}`,
          "cache-control": "no-store",
        },
      });
    }
    return new Response("not found", { status: 404 });
  });

  const address = server.addr as Deno.NetAddr;
  return {
    url: `http://${hostname}:${address.port}/`,
    get watching() {
      return streams.size > 0;
    },
    publish(jpeg, newInfo) {
      info = newInfo;
      if (streams.size === 0) return;
      const head = encoder.encode(
        `--${BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: ${jpeg.length}\r\n\r\n`,
      );
      const part = new Uint8Array(head.length + jpeg.length + 2);
      part.set(head, 0);
      part.set(jpeg, head.length);
      part.set([13, 10], head.length + jpeg.length);
      for (const controller of streams) {
        // A browser that has not taken the previous frames yet skips this one.
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(part);
      }
    },
    async close() {
      for (const controller of streams) {
        try {
          controller.close();
        } catch {
          // Already closed by the browser.
        }
      }
      streams.clear();
      await server.shutdown();
    },
  };
}
