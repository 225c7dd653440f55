import assert from "node:assert/strict";
import { xxHash64 } from "./xxhash64.ts";

const PRIME32 = 2654435761n;

/** The xxHash project's sanity buffer (cli/xsum_sanity_check.c): top byte of a running product. */
function sanityBuffer(len: number): Uint8Array {
  const out = new Uint8Array(len);
  let gen = PRIME32;
  for (let i = 0; i < len; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & 0xffffffffffffffffn;
  }
  return out;
}

Deno.test("xxHash64 matches the xxHash sanity-check vectors", () => {
  const buf = sanityBuffer(222);
  const cases: [number, bigint, bigint][] = [
    [0, 0n, 0xEF46DB3751D8E999n],
    [0, PRIME32, 0xAC75FDA2929B17EFn],
    [1, 0n, 0xE934A84ADB052768n],
    [1, PRIME32, 0x5014607643A9B4C3n],
    [4, 0n, 0x9136A0DCA57457EEn],
    [14, 0n, 0x8282DCC4994E35C8n],
    [14, PRIME32, 0xC3BD6BF63DEB6DF0n],
    [222, 0n, 0xB641AE8CB691C174n],
    [222, PRIME32, 0x20CB8AB7AE10C14An],
  ];
  for (const [len, seed, want] of cases) {
    assert.equal(xxHash64(buf.subarray(0, len), seed), want, `len ${len} seed ${seed}`);
  }
});

Deno.test("xxHash64 matches published string vectors", () => {
  const enc = new TextEncoder();
  assert.equal(xxHash64(enc.encode("abc")), 0x44BC2CF5AD770999n);
  assert.equal(
    xxHash64(enc.encode("Nobody inspects the spammish repetition")),
    0xFBCEA83C8A378BF1n,
  );
});

Deno.test("xxHash64 reads unaligned views correctly", () => {
  const buf = sanityBuffer(223);
  const copy = buf.slice(1);
  assert.equal(xxHash64(buf.subarray(1)), xxHash64(copy));
});

Deno.test("xxHash64 matches Go's github.com/cespare/xxhash on every length branch", () => {
  // A xorshift32 byte stream; the hashes were computed with cespare/xxhash (the library the Go
  // gateway and Prometheus use) over the same bytes.
  const buf = new Uint8Array(1000);
  let x = 12345;
  for (let i = 0; i < buf.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    buf[i] = x & 0xff;
  }
  const cases: [number, bigint][] = [
    [3, 4220102539118520875n],
    [7, 7231606079571571495n],
    [8, 7986406669129284541n],
    [9, 264033670814872540n],
    [12, 11546347560048015898n],
    [31, 15055542678813095928n],
    [32, 13990655396660213023n],
    [33, 2028975811185005210n],
    [63, 10683348626810017279n],
    [64, 3012634595499484841n],
    [65, 6531137497592972090n],
    [100, 12286305348501917305n],
    [1000, 12747543617105883121n],
  ];
  for (const [len, want] of cases) assert.equal(xxHash64(buf.subarray(0, len)), want, `len ${len}`);
});
