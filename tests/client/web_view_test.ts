import assert from "node:assert/strict";
import {
  ENROLMENT_OFF,
  type EnrolRequest,
  startWebView,
  type ViewState,
  type ViewUpdate,
  type WebViewOptions,
} from "../../lib/client/web_view.ts";
import {
  type FrameTracks,
  NO_TRACKS_ENROL,
  openOutputs,
  PageFaces,
  thumbnailOf,
} from "../../lib/client/_outputs.ts";
import type { Image } from "../../lib/images/image.ts";
import { decodeImage } from "../../lib/images/image_io.ts";
import { encodeError } from "../../lib/protocol/binary.ts";
import {
  decodeEnrolRequest,
  encodeEnrolReply,
  type EnrolRequest as WireEnrolRequest,
} from "../../lib/protocol/enrol.ts";
import { ENROL_OFF_MESSAGE } from "../../lib/server/enrolment.ts";
import type { TrackedFace } from "../../lib/tracking/tracker.ts";
import { Context } from "../../lib/zmq/zmq.ts";

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

// The page's lists from the session's tracks (lib/client/_outputs.ts).

/** A face of track `track` named `name` at `x`, 100 px square. */
function tracked(
  track: number,
  name: string,
  x: number,
  fields: Partial<TrackedFace> = {},
): TrackedFace {
  return {
    x,
    y: 40,
    w: 100,
    h: 100,
    label: name,
    distance: 1,
    track,
    name,
    settled: true,
    confidence: 0.8,
    ...fields,
  };
}

function frame(
  number: number,
  faces: TrackedFace[],
  lost: number[] = [],
): FrameTracks {
  return {
    frame: number,
    faces,
    lost: lost.map((track) => ({
      track,
      name: "",
      box: { x: 0, y: 0, w: 1, h: 1 },
      firstSeen: 0,
      lastSeen: 0,
    })),
  };
}

/** A 320x240 RGB picture of noise: sharp, and different at each `seed`. */
function noise(seed: number): Image {
  const data = new Uint8Array(320 * 240 * 3);
  let state = seed * 2654435761 + 1;
  for (let i = 0; i < data.length; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { width: 320, height: 240, channels: 3, data };
}

Deno.test("PageFaces: here now is the live tracks, known first, since their first frame", () => {
  let now = 10_000;
  const faces = new PageFaces({ now: () => now });
  const still = noise(1);
  faces.add(still, frame(0, [tracked(1, "unknown", 0, { settled: false })]));
  now += 100;
  faces.add(still, frame(1, [tracked(1, "s1", 0), tracked(2, "unknown", 150)]));
  now += 100;
  // Track 2 missed in this frame: still here until the tracker loses it.
  faces.add(still, frame(2, [tracked(1, "s1", 0, { confidence: 0.9 })]));
  assert.deepEqual(faces.people(), [
    { track: 1, name: "s1", since: 10_000, confidence: 0.9, known: true },
    { track: 2, name: "unknown", since: 10_100, confidence: 0.8, known: false },
  ]);
  faces.add(still, frame(3, [tracked(1, "s1", 0)], [2]));
  assert.deepEqual(faces.people().map((p) => p.track), [1]);
  faces.add(still, frame(4, [], [1]));
  assert.deepEqual(faces.people(), []);
});

Deno.test("PageFaces: unknown faces are never-named tracks settled on unknown, with a thumbnail, kept a minute", () => {
  let now = 10_000;
  const faces = new PageFaces({ now: () => now });
  const picture = noise(1);
  // A new face is unknown until its first answers name it: not listed.
  const fresh = tracked(1, "unknown", 0, { settled: false });
  faces.add(picture, frame(0, [fresh]));
  assert.deepEqual(faces.unknowns(), []);
  faces.add(picture, frame(1, [tracked(1, "s1", 0)]));
  assert.deepEqual(faces.unknowns(), []);
  // A named track that turns unknown is its person not recognised for now.
  faces.add(picture, frame(2, [tracked(1, "unknown", 0)]));
  assert.deepEqual(faces.unknowns(), []);

  faces.add(
    picture,
    frame(2, [tracked(1, "s1", 0), tracked(2, "unknown", 150)]),
  );
  const [listed] = faces.unknowns();
  assert.equal(listed.track, 2);
  assert.equal(listed.since, 10_000);
  const thumbnail = decodeImage(listed.thumbnail);
  assert.deepEqual([thumbnail.width, thumbnail.height], [100, 100]);

  // The thumbnail is taken again once a second.
  now += 500;
  faces.add(picture, frame(3, [tracked(2, "unknown", 150)]));
  assert.equal(faces.unknowns()[0].thumbnail, listed.thumbnail);
  now += 600;
  faces.add(picture, frame(4, [tracked(2, "unknown", 152)]));
  assert.notEqual(faces.unknowns()[0].thumbnail, listed.thumbnail);

  // Lost, it stays a minute, newest first, and may still be named.
  faces.add(picture, frame(5, [tracked(3, "unknown", 0)], [1, 2]));
  assert.deepEqual(faces.unknowns().map((u) => u.track), [3, 2]);
  assert.deepEqual(faces.people().map((p) => p.track), [3]);
  assert.ok(faces.cropsOf(2));
  now += 61_000;
  faces.add(picture, frame(6, [tracked(3, "unknown", 0)]));
  assert.deepEqual(faces.unknowns().map((u) => u.track), [3]);
  assert.equal(faces.cropsOf(2), undefined);

  // Named at last (or enrolled): no longer an unknown face.
  faces.add(picture, frame(7, [tracked(3, "s2", 0)]));
  assert.deepEqual(faces.unknowns(), []);
});

Deno.test("PageFaces: up to 5 good, varied crops of an unknown face, 1.5 times its box", () => {
  const faces = new PageFaces();
  // Frame after frame of the same noise: one crop (the rest are duplicates).
  for (let f = 0; f < 30; f++) {
    faces.add(noise(1), frame(f, [tracked(1, "unknown", 100)]));
  }
  assert.equal(faces.cropsOf(1)!.length, 1);
  // New noise every frame: a crop every 5 frames, 5 at most.
  for (let f = 30; f < 80; f++) {
    faces.add(noise(f), frame(f, [tracked(2, "unknown", 100)]));
  }
  const crops = faces.cropsOf(2)!;
  assert.equal(crops.length, 5);
  const crop = decodeImage(crops[0].jpeg);
  assert.deepEqual([crop.width, crop.height, crop.channels], [150, 150, 3]);
  assert.deepEqual(crops[0].box, { x: 25, y: 25, w: 100, h: 100 });

  // Too small, or named: nothing kept.
  for (let f = 80; f < 100; f++) {
    faces.add(
      noise(f),
      frame(f, [
        tracked(3, "unknown", 0, { w: 60, h: 60 }),
        tracked(4, "s1", 150),
      ]),
    );
  }
  assert.deepEqual(faces.cropsOf(3), []);
  assert.deepEqual(faces.cropsOf(4), []);
  assert.equal(faces.cropsOf(99), undefined);
});

/** A REP server that answers each enrol request with `answers` in turn. */
function fakeServer(context: Context, answers: Uint8Array[][]) {
  const socket = context.socket("REP");
  socket.bind("tcp://127.0.0.1:*");
  const requests: WireEnrolRequest[] = [];
  const done = (async () => {
    for (const answer of answers) {
      requests.push(
        decodeEnrolRequest(await socket.receive({ timeout: 5000 })),
      );
      await socket.send(answer, { timeout: 5000 });
    }
  })();
  return { endpoint: socket.lastEndpoint, requests, done };
}

Deno.test("the page enrols an unknown face's crops and says what the server said", async () => {
  const context = new Context();
  const lines: string[] = [];
  const enrolled: number[] = [];
  try {
    const server = fakeServer(context, [
      encodeEnrolReply({
        kind: "enrolled",
        requestId: 0,
        name: "Ada",
        label: 4,
        added: 5,
        faces: 5,
        people: 5,
        newPerson: true,
      }),
      encodeError("ENROL_REFUSED", ENROL_OFF_MESSAGE),
    ]);
    const outputs = await openOutputs({
      view: "web",
      port: 0,
      width: 320,
      height: 240,
      fps: 30,
      ffmpeg: "ffmpeg",
      tracks: true,
      enrol: {
        endpoint: server.endpoint,
        onEnrolled: (track) => enrolled.push(track),
      },
      log: (line) => lines.push(line),
    });
    try {
      const url = lines[0].match(/view: open (\S+) in a browser/)![1];
      for (let f = 0; f < 30; f++) {
        outputs.follow(noise(f), frame(f, [tracked(7, "unknown", 100)]));
      }
      const post = async (track: number, name: string) => {
        const response = await fetch(new URL("/enrol", url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ track, name }),
        });
        return await response.json();
      };
      const unknowns = async () => {
        await outputs.show(noise(0), { frames: 30, fps: 30, latencyMs: 5 });
        const state: ViewState = await (await fetch(new URL("/state", url)))
          .json();
        return state.unknowns.map((u) => u.track);
      };
      assert.deepEqual(await unknowns(), [7]);
      assert.deepEqual(await post(7, "Ada"), {
        ok: true,
        message: "Ada enrolled: 5 faces, live now",
      });
      assert.deepEqual(enrolled, [7]);
      // Named now: no longer an unknown face, even before the tracker says so.
      outputs.follow(noise(30), frame(30, [tracked(7, "unknown", 100)]));
      assert.deepEqual(await unknowns(), []);
      assert.equal(server.requests[0].name, "Ada");
      assert.equal(server.requests[0].faces.length, 5);

      const refused = await post(7, "Bob");
      assert.equal(refused.ok, false);
      assert.equal(
        refused.message,
        `the server refused the enrolment: ENROL_REFUSED: ${ENROL_OFF_MESSAGE}`,
      );
      assert.deepEqual(enrolled, [7]);
      await server.done;

      const gone = await post(8, "Eve");
      assert.equal(gone.ok, false);
      assert.match(gone.message, /no longer on the page/);
    } finally {
      await outputs.close();
    }
  } finally {
    await context.close();
  }
});

Deno.test("without tracks the page lists nobody and says why it cannot name anybody", async () => {
  const lines: string[] = [];
  const outputs = await openOutputs({
    view: "web",
    port: 0,
    width: 64,
    height: 48,
    fps: 30,
    ffmpeg: "ffmpeg",
    tracks: false,
    log: (line) => lines.push(line),
  });
  try {
    const url = lines[0].match(/view: open (\S+) in a browser/)![1];
    await outputs.show(picture(), { frames: 1, fps: 0, latencyMs: 5 });
    const state: ViewState = await (await fetch(new URL("/state", url))).json();
    assert.equal(state.enrolOff, NO_TRACKS_ENROL);
    assert.match(state.status!, /--no-track/);
    assert.deepEqual([state.people, state.unknowns], [[], []]);
  } finally {
    await outputs.close();
  }
});

Deno.test("thumbnailOf crops the box, shrinks big faces and refuses tiny ones", () => {
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
  assert.equal(edge.width, 40);
  assert.equal(thumbnailOf(big, { x: 10, y: 10, w: 5, h: 40 }), undefined);
  assert.equal(thumbnailOf(big, { x: 700, y: 10, w: 40, h: 40 }), undefined);
});
