import assert from "node:assert/strict";
import {
  ENROLMENT_OFF,
  type EnrolRequest,
  startWebView,
  type ViewState,
  type ViewUpdate,
  type WebViewOptions,
} from "../../lib/client/web_view.ts";
import { RecentFaces, thumbnailOf } from "../../lib/client/_outputs.ts";
import type { Face } from "../../lib/face/face.ts";
import type { Image } from "../../lib/images/image.ts";
import { decodeImage } from "../../lib/images/image_io.ts";

/** A grey 64x48 picture with a gradient. */
function picture(): Image {
  const data = new Uint8Array(64 * 48);
  for (let i = 0; i < data.length; i++) data[i] = i % 251;
  return { width: 64, height: 48, channels: 1, data };
}

const FAKE_JPEG = new Uint8Array([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]);

function update(fields: Partial<ViewUpdate> = {}): ViewUpdate {
  return {
    frames: 7,
    fps: 12.5,
    latencyMs: 20,
    people: [{
      track: 3,
      name: "s1",
      since: 1_000,
      confidence: 0.9,
      known: true,
    }],
    unknowns: [{ track: 4, thumbnail: FAKE_JPEG, since: 2_000 }],
    ...fields,
  };
}

async function withView(
  options: WebViewOptions,
  body: (url: string, view: ReturnType<typeof startWebView>) => Promise<void>,
): Promise<void> {
  const view = startWebView({ port: 0, ...options });
  try {
    await body(view.url, view);
  } finally {
    await view.close();
  }
}

async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(check(), "timed out");
}

/** Reads a stream until `done(text so far)`; latin1, so JPEG bytes survive. */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
): Promise<string> {
  const decoder = new TextDecoder("latin1");
  let text = "";
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) throw new Error(`stream ended after ${JSON.stringify(text)}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

Deno.test("web view serves the page, its state and the thumbnails", async () => {
  await withView({}, async (url, view) => {
    const page = await fetch(url);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<img id="stream" src="\/stream"/);
    assert.match(html, /new EventSource\("\/events"\)/);
    assert.doesNotMatch(html, /https?:\/\/(?!127)/, "no CDN");

    view.update(update());
    const state: ViewState = await (await fetch(new URL("/state", url)))
      .json();
    assert.ok(Math.abs(state.now - Date.now()) < 5_000);
    assert.deepEqual({ ...state, now: 0 }, {
      now: 0,
      frames: 7,
      fps: 12.5,
      latencyMs: 20,
      people: [{
        track: 3,
        name: "s1",
        since: 1_000,
        confidence: 0.9,
        known: true,
      }],
      unknowns: [{ track: 4, since: 2_000, thumbnail: "/unknown/4.jpg?v=1" }],
      enrolOff: ENROLMENT_OFF,
    });

    const thumbnail = await fetch(new URL(state.unknowns[0].thumbnail, url));
    assert.equal(thumbnail.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(new Uint8Array(await thumbnail.arrayBuffer()), FAKE_JPEG);
    const missing = await fetch(new URL("/unknown/5.jpg", url));
    assert.equal(missing.status, 404);
    await missing.body?.cancel();

    // Same bytes object: same address. A new picture: a new address.
    view.update(update());
    const same: ViewState = await (await fetch(new URL("/state", url))).json();
    assert.equal(same.unknowns[0].thumbnail, "/unknown/4.jpg?v=1");
    view.update(update({
      unknowns: [{ track: 4, thumbnail: FAKE_JPEG.slice(), since: 2_000 }],
    }));
    const next: ViewState = await (await fetch(new URL("/state", url))).json();
    assert.equal(next.unknowns[0].thumbnail, "/unknown/4.jpg?v=2");

    // A face no longer listed has no thumbnail either.
    view.update(update({ unknowns: [] }));
    const gone = await fetch(new URL("/unknown/4.jpg", url));
    assert.equal(gone.status, 404);
    await gone.body?.cancel();
  });
});

Deno.test("web view streams frames as MJPEG and gives a late browser the last one", async () => {
  await withView({}, async (url, view) => {
    view.update(update({ picture: picture() }));
    const stream = await fetch(new URL("/stream", url));
    assert.match(
      stream.headers.get("content-type") ?? "",
      /^multipart\/x-mixed-replace; boundary=facezmqframe$/,
    );
    await waitFor(() => view.watching);
    view.update(update({ picture: picture() }));
    const reader = stream.body!.getReader();
    const text = await readUntil(reader, (t) => t.includes("\xff\xd9\r\n"));
    const match = text.match(
      /^--facezmqframe\r\nContent-Type: image\/jpeg\r\nContent-Length: (\d+)\r\n\r\n/,
    );
    assert.ok(match, text.slice(0, 80));
    const jpeg = Uint8Array.from(
      text.slice(match[0].length, match[0].length + Number(match[1])),
      (c) => c.charCodeAt(0),
    );
    const decoded = decodeImage(jpeg);
    assert.deepEqual([decoded.width, decoded.height], [64, 48]);
    await reader.cancel();

    // A browser that comes later gets the last frame at once.
    const late = await fetch(new URL("/stream", url));
    const lateReader = late.body!.getReader();
    const lateText = await readUntil(lateReader, (t) => t.includes("\r\n\r\n"));
    assert.match(lateText, /^--facezmqframe\r\nContent-Type: image\/jpeg/);
    await lateReader.cancel();
  });
});

Deno.test("web view pushes the state as Server-Sent Events, at most 5 a second", async () => {
  await withView({}, async (url, view) => {
    const events = await fetch(new URL("/events", url));
    assert.equal(events.headers.get("content-type"), "text/event-stream");
    const reader = events.body!.getReader();
    const first = await readUntil(reader, (t) => t.endsWith("\n\n"));
    assert.match(first, /^retry: 1000\ndata: \{.*"frames":0/);

    // Three updates in a row: the first goes out at once, the last one
    // when the interval is over, the middle one never.
    view.update(update({ frames: 1 }));
    view.update(update({ frames: 2 }));
    view.update(update({ frames: 3 }));
    const started = performance.now();
    const text = await readUntil(reader, (t) => t.includes('"frames":3'));
    const frames = [...text.matchAll(/"frames":(\d+)/g)].map((m) => m[1]);
    assert.deepEqual(frames, ["1", "3"]);
    assert.ok(performance.now() - started >= 150, "the last one waited");
    const state = JSON.parse(text.trim().split("\n").at(-1)!.slice(6));
    assert.equal(state.people[0].name, "s1");
    await reader.cancel();
  });
});

Deno.test("POST /enrol without onEnrol says enrolment is off", async () => {
  await withView({}, async (url) => {
    const response = await fetch(new URL("/enrol", url), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ track: 4, name: "Ada" }),
    });
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), {
      ok: false,
      message: ENROLMENT_OFF,
    });
  });
});

Deno.test("POST /enrol hands a checked request to onEnrol and answers its result", async () => {
  const requests: EnrolRequest[] = [];
  const onEnrol = (request: EnrolRequest) => {
    requests.push(request);
    if (request.name === "Boom") return Promise.reject(new Error("disk full"));
    return Promise.resolve({ ok: true, message: `${request.name} enrolled` });
  };
  await withView({ onEnrol }, async (url) => {
    const post = async (
      body: string,
      headers: Record<string, string> = {},
    ) => {
      const response = await fetch(new URL("/enrol", url), {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body,
      });
      return { status: response.status, ...(await response.json()) };
    };
    const state = await (await fetch(new URL("/state", url))).json();
    assert.equal(state.enrolOff, undefined);

    assert.deepEqual(
      await post(JSON.stringify({ track: 4, name: "  Ada Lovelace " })),
      { status: 200, ok: true, message: "Ada Lovelace enrolled" },
    );
    assert.deepEqual(requests, [{ track: 4, name: "Ada Lovelace" }]);
    assert.deepEqual(await post(JSON.stringify({ track: 4, name: "Boom" })), {
      status: 500,
      ok: false,
      message: "enrolment failed: disk full",
    });

    const refused = [
      [JSON.stringify({ track: 4, name: " " }), {}, 400],
      [JSON.stringify({ track: 4, name: "x".repeat(65) }), {}, 400],
      [JSON.stringify({ track: 4, name: "a\nb" }), {}, 400],
      [JSON.stringify({ track: -1, name: "Ada" }), {}, 400],
      [JSON.stringify({ track: "4", name: "Ada" }), {}, 400],
      ["{not json", {}, 400],
      ["null", {}, 400],
      [JSON.stringify({ track: 4, name: "Ada" }), {
        "content-type": "text/plain",
      }, 415],
      // Another site open in the same browser.
      [JSON.stringify({ track: 4, name: "Ada" }), {
        origin: "http://evil.example",
      }, 403],
    ] as const;
    for (const [body, headers, status] of refused) {
      const answer = await post(body, headers);
      assert.equal(answer.status, status, body);
      assert.equal(answer.ok, false);
      assert.equal(typeof answer.message, "string");
    }
    assert.equal(requests.length, 2, "refused requests never reach onEnrol");

    const get = await fetch(new URL("/enrol", url));
    assert.equal(get.status, 405);
    await get.body?.cancel();
  });
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

// The session's feed of the page until it has tracks (lib/client/_outputs.ts).

function face(label: string, x: number, y = 10): Face {
  return { x, y, w: 30, h: 30, label, distance: 1 };
}

Deno.test("RecentFaces: people are the labels of the last second, with since and share of frames", () => {
  let now = 10_000;
  const recent = new RecentFaces({ now: () => now });
  const frame = picture();
  for (let i = 0; i < 10; i++) {
    recent.add(
      frame,
      i % 2 === 0 ? [face("s1", 0), face("s2", 30)] : [
        face("s1", 0),
      ],
    );
    now += 100;
  }
  const people = recent.people();
  assert.deepEqual(people.map((p) => [p.name, p.since, p.confidence]), [
    ["s1", 10_000, 1],
    ["s2", 10_000, 0.5],
  ]);
  assert.ok(people.every((p) => p.known));
  assert.notEqual(people[0].track, people[1].track);

  // s2 gone for more than a second leaves; when back, it is a new arrival.
  for (let i = 0; i < 12; i++) {
    recent.add(frame, [face("s1", 0)]);
    now += 100;
  }
  assert.deepEqual(recent.people().map((p) => p.name), ["s1"]);
  recent.add(frame, [face("s1", 0), face("s2", 30)]);
  const back = recent.people().find((p) => p.name === "s2")!;
  assert.equal(back.since, now);
  assert.notEqual(back.track, people[1].track);
});

Deno.test("RecentFaces: unknown faces are told apart by place, with JPEG crops", () => {
  let now = 10_000;
  const recent = new RecentFaces({ now: () => now });
  const frame = picture();
  recent.add(frame, [face("unknown", 0), face("unknown", 32)]);
  now += 100;
  // Both moved a little: the same two faces.
  recent.add(frame, [face("unknown", 2), face("unknown", 33)]);
  const unknowns = recent.unknowns();
  assert.equal(unknowns.length, 2);
  assert.notEqual(unknowns[0].track, unknowns[1].track);
  assert.ok(unknowns.every((u) => u.since === 10_000));
  const thumbnail = decodeImage(unknowns[0].thumbnail);
  assert.deepEqual([thumbnail.width, thumbnail.height], [26, 26]);
  assert.deepEqual(
    recent.people().map((p) => [p.name, p.known, p.confidence]),
    [["unknown", false, 1], ["unknown", false, 1]],
  );

  // The thumbnail is kept for a second, then taken again.
  now += 500;
  recent.add(frame, [face("unknown", 2)]);
  assert.equal(recent.unknowns()[1].thumbnail, unknowns[1].thumbnail);
  now += 600;
  recent.add(frame, [face("unknown", 2)]);
  assert.notEqual(recent.unknowns()[1].thumbnail, unknowns[1].thumbnail);

  // Overlapping boxes are the same face; one seen after more than a second
  // away is someone new, listed first.
  recent.add(frame, [face("unknown", 2, 17)]);
  assert.equal(recent.unknowns().length, 2);
  now += 2_000;
  recent.add(frame, [face("unknown", 2)]);
  const listed = recent.unknowns();
  assert.equal(listed.length, 3, "seen 2 s ago: not followed any more");
  assert.equal(listed[0].since, now);
  assert.deepEqual(recent.people().map((p) => p.track), [listed[0].track]);

  // After a minute out of view they leave the page.
  now += 61_000;
  recent.add(frame, []);
  assert.deepEqual(recent.unknowns(), []);
  assert.deepEqual(recent.people(), []);
});

Deno.test("thumbnailOf crops inside the box, shrinks big faces and refuses tiny ones", () => {
  const big: Image = {
    width: 640,
    height: 480,
    channels: 3,
    data: new Uint8Array(640 * 480 * 3).fill(128),
  };
  const small = decodeImage(
    thumbnailOf(big, { x: 100, y: 50, w: 300, h: 360 })!,
  );
  assert.ok(Math.max(small.width, small.height) <= 128);
  assert.equal(small.channels, 3);
  // Half outside the picture: only the part inside.
  const edge = decodeImage(thumbnailOf(big, { x: 600, y: 0, w: 80, h: 80 })!);
  assert.equal(edge.width, 38);
  assert.equal(thumbnailOf(big, { x: 10, y: 10, w: 9, h: 40 }), undefined);
  assert.equal(thumbnailOf(big, { x: 700, y: 10, w: 40, h: 40 }), undefined);
});
