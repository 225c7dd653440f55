import assert from "node:assert/strict";
import { ConnectionError, ErrorCode } from "./frame.ts";
import { encodeHeaders, HpackDecoder } from "./hpack.ts";

const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((b) => parseInt(b, 16)));

Deno.test("hpack: RFC 7541 C.3 requests share the dynamic table across blocks", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
  assert.deepEqual(d.decode(hex("8286 84be 5808 6e6f 2d63 6163 6865")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
    ["cache-control", "no-cache"],
  ]);
  assert.deepEqual(
    d.decode(hex("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65")),
    [
      [":method", "GET"],
      [":scheme", "https"],
      [":path", "/index.html"],
      [":authority", "www.example.com"],
      ["custom-key", "custom-value"],
    ],
  );
});

Deno.test("hpack: RFC 7541 C.4.1 Huffman-coded request", () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff")), [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ]);
});

Deno.test("hpack: RFC 7541 C.5 responses evict entries from a 256-octet table", () => {
  const d = new HpackDecoder(256);
  const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
  assert.deepEqual(
    d.decode(hex(
      "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133" +
        "2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70" +
        "6c65 2e63 6f6d",
    )),
    [
      [":status", "302"],
      ["cache-control", "private"],
      ["date", date1],
      ["location", "https://www.example.com"],
    ],
  );
  assert.deepEqual(d.decode(hex("4803 3330 37c1 c0bf")), [
    [":status", "307"],
    ["cache-control", "private"],
    ["date", date1],
    ["location", "https://www.example.com"],
  ]);
});

Deno.test("hpack: table size updates above the limit and bad indexes are COMPRESSION_ERROR", () => {
  // Size update to 0 (0x20) is legal; to 8192 (0x3f e1 3f) exceeds the 4096 limit.
  assert.deepEqual(new HpackDecoder().decode(hex("20 82")), [[":method", "GET"]]);
  for (const bad of ["3fe13f", "ff00", "be", "0f"]) {
    assert.throws(
      () => new HpackDecoder().decode(hex(bad)),
      (e) => e instanceof ConnectionError && e.code === ErrorCode.COMPRESSION_ERROR,
      bad,
    );
  }
});

Deno.test("hpack: encoder output decodes to the same fields (long and UTF-8 values)", () => {
  const fields: [string, string][] = [
    ["x-name", "gr\u00fc\u00dfe \u2713"],
    [":status", "200"],
    [":status", "415"],
    ["content-type", "application/grpc"],
    ["grpc-message", "x".repeat(1000)],
  ];
  assert.deepEqual(new HpackDecoder().decode(encodeHeaders(fields)), fields);
});
