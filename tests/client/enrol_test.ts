import assert from "node:assert/strict";
import { enrolFaces } from "../../lib/client/enrol.ts";
import { encodeJpeg } from "../../lib/images/image_io.ts";
import { encodeError } from "../../lib/protocol/binary.ts";
import {
  decodeEnrolRequest,
  encodeEnrolReply,
  ENROL_ELSEWHERE,
  type EnrolFace,
  type EnrolRequest,
} from "../../lib/protocol/enrol.ts";
import { Context } from "../../lib/zmq/zmq.ts";

const FACE: EnrolFace = {
  jpeg: encodeJpeg({
    width: 16,
    height: 16,
    channels: 1,
    data: new Uint8Array(256).fill(90),
  }),
  box: { x: 2, y: 2, w: 12, h: 12 },
};

/**
 * A REP server in this process that answers the requests it gets with
 * `answers` in turn; resolves with the requests once all are answered.
 */
function fakeServer(
  context: Context,
  answers: Uint8Array[][],
): { endpoint: string; requests: Promise<EnrolRequest[]> } {
  const socket = context.socket("REP");
  socket.bind("tcp://127.0.0.1:*");
  const requests = (async () => {
    const seen: EnrolRequest[] = [];
    for (const answer of answers) {
      seen.push(decodeEnrolRequest(await socket.receive({ timeout: 5000 })));
      await socket.send(answer, { timeout: 5000 });
    }
    return seen;
  })();
  return { endpoint: socket.lastEndpoint, requests };
}

const REPLY = {
  kind: "enrolled",
  requestId: 3,
  name: "Zoë",
  label: 7,
  added: 1,
  faces: 4,
  people: 8,
  newPerson: false,
} as const;

Deno.test("enrolFaces sends one request and returns the reply; a remote worker's refusal is tried again", async () => {
  const context = new Context();
  try {
    const server = fakeServer(context, [
      encodeError("ENROL_REFUSED", `${ENROL_ELSEWHERE}: a remote worker`),
      encodeEnrolReply(REPLY),
    ]);
    const reply = await enrolFaces(server.endpoint, "Zoë", [FACE, FACE], {
      requestId: 3,
      timeout: 5000,
    });
    assert.deepEqual(reply, REPLY);
    const requests = await server.requests;
    assert.equal(requests.length, 2);
    assert.equal(requests[1].name, "Zoë");
    assert.equal(requests[1].requestId, 3);
    assert.deepEqual(requests[1].faces.map((f) => f.box), [
      FACE.box,
      FACE.box,
    ]);
  } finally {
    await context.close();
  }
});

Deno.test("enrolFaces fails with one line: refused, bad name, no server", async () => {
  const context = new Context();
  try {
    const server = fakeServer(context, [
      encodeError("ENROL_REFUSED", "enrolment is off on this server"),
    ]);
    await assert.rejects(
      enrolFaces(server.endpoint, "s5", [FACE], { timeout: 5000 }),
      {
        message:
          "the server refused the enrolment: ENROL_REFUSED: enrolment is off on this server",
      },
    );
    await server.requests;
    await assert.rejects(
      enrolFaces(server.endpoint, "../s5", [FACE]),
      { message: 'cannot enrol: the name "../s5" has a path separator' },
    );
    await assert.rejects(
      enrolFaces(server.endpoint, "s5", []),
      { message: "cannot enrol: an enrol request needs a face" },
    );
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await assert.rejects(
      enrolFaces(`tcp://127.0.0.1:${port}`, "s5", [FACE], { timeout: 200 }),
      /^Error: no reply from tcp:\/\/127\.0\.0\.1:\d+ within 200 ms/,
    );
  } finally {
    await context.close();
  }
});
