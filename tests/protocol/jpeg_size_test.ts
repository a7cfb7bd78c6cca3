import assert from "node:assert/strict";
import jpeg from "jpeg-js";
import { jpegSize } from "../../lib/protocol/jpeg_size.ts";
import { assertCode, fromHex, makeJpeg } from "./_helpers.ts";

// ----------------------------------------------------------- jpegSize

Deno.test("jpegSize agrees with jpeg-js on real JPEGs", () => {
  for (const [width, height] of [[1, 1], [16, 8], [92, 112], [301, 7]]) {
    const bytes = makeJpeg(width, height);
    const decoded = jpeg.decode(bytes, { useTArray: true });
    assert.deepEqual(jpegSize(bytes), {
      width: decoded.width,
      height: decoded.height,
    });
    assert.deepEqual(jpegSize(bytes), { width, height });
  }
});

Deno.test("jpegSize skips fill bytes and DHT, reads progressive SOF2", () => {
  const bytes = fromHex(
    "ffd8 ffff" + // SOI, then a fill byte before the next marker
      "ffc4 0004 0000" + // DHT (C4 is not a SOF), 2 payload bytes
      "ffc2 000b 08 0070 005c 01 01 11 00", // SOF2 112 x 92, 1 component
  );
  assert.deepEqual(jpegSize(bytes), { width: 92, height: 112 });
});

Deno.test("jpegSize rejects what is not a JPEG", () => {
  const bad = [
    "",
    "ffd8",
    "ffd9 0000",
    "ffd8 00",
    "ffd8 ffe0 0010", // APP0 running past the end
    "ffd8 ffe0 0001 0000", // segment length < 2
    "ffd8 1234 5678", // no marker
    "ffd8 ffda 0008 0000 0000", // scan before any frame header
    "ffd8 ffd9 0000", // end before any frame header
    "ffd8 ffc0 0011 08 0070", // truncated SOF
    "ffd8 ffc0 0006 08 0000 005c", // SOF shorter than 8
    "ffd8 ffc0 000b 08 0000 005c 01 01 11 00", // height 0
    "ffd8 ffc0 000b 08 0070 0000 01 01 11 00", // width 0
  ];
  for (const text of bad) {
    assertCode(() => jpegSize(fromHex(text)), "CORRUPT_JPEG");
  }
});
