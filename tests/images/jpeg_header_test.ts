import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { jpegHeader, JpegHeaderError } from "../../lib/images/jpeg_header.ts";

const DIR = fileURLToPath(new URL("../fixtures/images/", import.meta.url));

function fromHex(text: string): Uint8Array {
  const hex = text.replace(/\s+/g, "");
  return new Uint8Array(
    hex.match(/../g)?.map((pair) => parseInt(pair, 16)) ?? [],
  );
}

Deno.test("jpegHeader reads size, components and kind of real JPEGs", async () => {
  const cases: [string, number, boolean][] = [
    ["crop_420.jpg", 3, false],
    ["crop_444.jpg", 3, false],
    ["crop_grey.jpg", 1, false],
    ["crop_progressive.jpg", 3, true],
    // The header holds the stored size: orientation is applied on decoding.
    ["crop_exif6.jpg", 3, false],
  ];
  for (const [file, components, progressive] of cases) {
    const header = jpegHeader(await Deno.readFile(DIR + file));
    assert.deepEqual(header, {
      width: 96,
      height: 72,
      components,
      precision: 8,
      progressive,
    }, file);
  }
});

Deno.test("jpegHeader skips fill bytes and DHT, reads progressive SOF2", () => {
  const bytes = fromHex(
    "ffd8 ffff" + // SOI, then a fill byte before the next marker
      "ffc4 0004 0000" + // DHT (C4 is not a SOF), 2 payload bytes
      "ffd0" + // RST0 has no length
      "ffc2 000b 08 0070 005c 01 01 11 00", // SOF2 112 x 92, 1 component
  );
  assert.deepEqual(jpegHeader(bytes), {
    width: 92,
    height: 112,
    components: 1,
    precision: 8,
    progressive: true,
  });
});

Deno.test("jpegHeader says what is wrong with what is not a JPEG", () => {
  const bad: [string, RegExp][] = [
    ["", /too short \(0 bytes\)/],
    ["ffd8", /too short/],
    ["ffd9 0000", /does not start with the SOI marker/],
    ["ffd8 00", /too short/],
    ["ffd8 ffe0 0010", /ends before any frame header/], // APP0 past the end
    ["ffd8 ffe0 0001 0000", /segment at byte 2 has invalid length 1/],
    ["ffd8 1234 5678", /has no marker at byte 2/],
    ["ffd8 ffda 0008 0000 0000", /image data before any frame header/],
    ["ffd8 ffd9 0000", /image data before any frame header/],
    ["ffd8 ffc0 0011 08 0070", /frame header \(SOF\) is truncated/],
    ["ffd8 ffc0 0006 08 0000 005c", /frame header \(SOF\) is truncated/],
    ["ffd8 ffc0 000b 08 0000 005c 01 01 11 00", /size of 92x0/],
    ["ffd8 ffc0 000b 08 0070 0000 01 01 11 00", /size of 0x112/],
  ];
  for (const [text, reason] of bad) {
    assert.throws(
      () => jpegHeader(fromHex(text)),
      (err: unknown) => {
        assert.ok(err instanceof JpegHeaderError, `${text}: ${err}`);
        assert.match(err.message, /^JPEG /);
        assert.match(err.reason, reason, text);
        return true;
      },
    );
  }
});
