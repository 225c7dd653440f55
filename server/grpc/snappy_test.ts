import assert from "node:assert/strict";
import {
  SnappyFormatError,
  snappyFrameDecode,
  snappyFrameEncode,
  SnappyTooLargeError,
} from "./snappy.ts";

const GO_PROGRAM = new URL("./testdata/snappy_frames.go", import.meta.url).pathname;

/**
 * Builds testdata/snappy_frames.go against Debian's golang-github-klauspost-compress-dev (the
 * library Thanos' snappy compressor uses); null when Go or the library is not installed.
 */
async function buildGoTool(): Promise<string | null> {
  const gopath = "/usr/share/gocode";
  try {
    await Deno.stat(`${gopath}/src/github.com/klauspost/compress/snappy`);
  } catch {
    return null;
  }
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command("go", {
      args: ["build", "-o", `${dir}/snappy_frames`, GO_PROGRAM],
      env: { GO111MODULE: "off", GOPATH: gopath },
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return `${dir}/snappy_frames`;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}

/** Runs the Go tool in `mode` over `input`. */
async function goSnappy(
  tool: string,
  mode: "compress" | "decompress",
  input: Uint8Array,
): Promise<Uint8Array> {
  const p = new Deno.Command(tool, {
    args: [mode],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(input);
  await w.close();
  const out = await p.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return out.stdout;
}

const tool = await buildGoTool();

function samples(): Uint8Array[] {
  const text = new TextEncoder().encode('up{job="api",instance="10.0.0.1:9090"} '.repeat(5000));
  let x = 12345;
  const noise = Uint8Array.from(
    { length: 150_000 },
    () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24,
  );
  return [new Uint8Array(0), Uint8Array.from([1, 2, 3]), text, noise, text.subarray(0, 65536)];
}

Deno.test({
  name: "snappy frames: interoperate with klauspost/compress snappy (Thanos' compressor)",
  ignore: tool === null,
  async fn() {
    for (const data of samples()) {
      const ours = snappyFrameEncode(data);
      const back = await goSnappy(tool!, "decompress", ours);
      assert.deepEqual(back, data, `Go reads ours (${data.length})`);
      const theirs = await goSnappy(tool!, "compress", data);
      assert.deepEqual(snappyFrameDecode(theirs, 1 << 20), data, `we read Go's (${data.length})`);
    }
  },
});

Deno.test("snappy frames: compressible data shrinks, corrupt input and oversize are typed errors", () => {
  const text = samples()[2];
  const enc = snappyFrameEncode(text);
  assert.ok(enc.length < text.length / 5, `${enc.length} of ${text.length}`);
  assert.deepEqual(snappyFrameDecode(enc, text.length), text);
  assert.throws(() => snappyFrameDecode(enc, text.length - 1), SnappyTooLargeError);
  const corrupt = enc.slice();
  corrupt[15] ^= 0xff; // inside the first chunk's CRC or data
  assert.throws(() => snappyFrameDecode(corrupt, 1 << 20), SnappyFormatError);
  assert.throws(() => snappyFrameDecode(enc.subarray(10), 1 << 20), SnappyFormatError);
  assert.throws(
    () => snappyFrameDecode(enc.subarray(0, enc.length - 3), 1 << 20),
    SnappyFormatError,
  );
  const reserved = Uint8Array.from([...enc.subarray(0, 10), 0x02, 0, 0, 0]);
  assert.throws(() => snappyFrameDecode(reserved, 1 << 20), SnappyFormatError);
  const skippable = Uint8Array.from([...enc, 0xfe, 2, 0, 0, 0, 0]);
  assert.deepEqual(snappyFrameDecode(skippable, 1 << 20), text);
});
