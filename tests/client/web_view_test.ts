import assert from "node:assert/strict";
import { startWebView } from "../../lib/client/web_view.ts";

Deno.test("web view serves the page, the stats and an MJPEG stream of published frames", async () => {
  const view = startWebView({ port: 0 });
  try {
    const page = await fetch(view.url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<img src="\/stream"/);

    const stream = await fetch(new URL("/stream", view.url));
    assert.match(
      stream.headers.get("content-type") ?? "",
      /^multipart\/x-mixed-replace; boundary=/,
    );
    // Wait until the server has registered the browser.
    for (let i = 0; i < 50 && !view.watching; i++) {
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.ok(view.watching);
    const fakeJpeg = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);
    view.publish(fakeJpeg, {
      frames: 7,
      fps: 12.5,
      latencyMs: 20,
      labels: ["s1"],
    });
    const reader = stream.body!.getReader();
    const { value } = await reader.read();
    const text = new TextDecoder("latin1").decode(value);
    assert.match(
      text,
      /Content-Type: image\/jpeg\r\nContent-Length: 7\r\n\r\n/,
    );
    assert.ok(text.includes("\xff\xd8\x01\x02\x03\xff\xd9"));
    await reader.cancel();

    const stats = await (await fetch(new URL("/stats", view.url))).json();
    assert.deepEqual(stats, {
      frames: 7,
      fps: 12.5,
      latencyMs: 20,
      labels: ["s1"],
    });
  } finally {
    await view.close();
  }
});

Deno.test("startWebView on a busy port names it and the ways out", () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  try {
    assert.throws(
      () => startWebView({ port }),
      (error: unknown) =>
        error instanceof Deno.errors.AddrInUse &&
        error.message ===
          `127.0.0.1:${port} is in use (another client's web view?): ` +
            "give the web view another port with --port N, or --view none",
    );
  } finally {
    listener.close();
  }
});
