import assert from "node:assert/strict";
import { encodeGrpcMessage } from "./status.ts";
import { parseGrpcTimeout } from "./timeout.ts";

Deno.test("grpc-message percent-encoding: printable ASCII kept, '%' and UTF-8 bytes escaped", () => {
  assert.equal(encodeGrpcMessage("plain text: ok"), "plain text: ok");
  assert.equal(encodeGrpcMessage("100%"), "100%25");
  assert.equal(encodeGrpcMessage("line\nbreak"), "line%0Abreak");
  // U+00FC is C3 BC in UTF-8, U+2713 is E2 9C 93.
  assert.equal(encodeGrpcMessage("\u00fc \u2713"), "%C3%BC %E2%9C%93");
  assert.equal(decodeURIComponent(encodeGrpcMessage("a\u00fc%\tz")), "a\u00fc%\tz");
});

Deno.test("grpc-timeout: units H M S m u n, at most 8 digits, anything else rejected", () => {
  assert.equal(parseGrpcTimeout("1H"), 3_600_000);
  assert.equal(parseGrpcTimeout("2M"), 120_000);
  assert.equal(parseGrpcTimeout("5S"), 5000);
  assert.equal(parseGrpcTimeout("250m"), 250);
  assert.equal(parseGrpcTimeout("1500u"), 1.5);
  assert.equal(parseGrpcTimeout("99999999n"), 99.999999);
  for (const bad of ["", "5", "S", "123456789S", "1.5S", "-1S", "5s", "5 S"]) {
    assert.equal(parseGrpcTimeout(bad), undefined, bad);
  }
});
