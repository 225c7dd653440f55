import assert from "node:assert/strict";
import { formatBlockMeta, parseBlockMeta, parseDeletionMark, parseNoCompactMark } from "./meta.ts";
import { BlockMetaError } from "./errors.ts";

const BLOCKS = new URL("./testdata/blocks/", import.meta.url);

Deno.test("parseBlockMeta reads promtool's meta.json", async () => {
  const text = await Deno.readTextFile(new URL("01M88N5D9P8GWXTTFS4XSR85NF/meta.json", BLOCKS));
  const m = parseBlockMeta(text);
  assert.equal(m.ulid, "01M88N5D9P8GWXTTFS4XSR85NF");
  assert.equal(m.minTime, 1700000000000);
  assert.equal(m.maxTime, 1700006388670);
  assert.deepEqual(m.stats, {
    numSamples: 1190,
    numFloatSamples: 0,
    numHistogramSamples: 0,
    numSeries: 4,
    numChunks: 8,
    numTombstones: 0,
  });
  assert.equal(m.compaction.level, 1);
  assert.deepEqual(m.compaction.sources, ["01M88N5D9P8GWXTTFS4XSR85NF"]);
  assert.equal(m.thanos, undefined);
});

// Shape of a sidecar upload as Thanos' metadata.Meta marshals it.
const THANOS_META = `{
  "ulid": "01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR",
  "minTime": 1700000000000,
  "maxTime": 1700007200000,
  "stats": {"numSamples": 10, "numSeries": 2, "numChunks": 2},
  "compaction": {"level": 2, "sources": ["01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR"],
    "parents": [{"ulid": "01HQ8Z4N5V8ZK6C2Q0Y7J3W1XS", "minTime": 1, "maxTime": 2}]},
  "version": 1,
  "thanos": {
    "labels": {"cluster": "eu1", "replica": "a"},
    "downsample": {"resolution": 300000},
    "source": "sidecar",
    "segment_files": ["000001", "000002"],
    "files": [{"rel_path": "chunks/000001", "size_bytes": 1024}, {"rel_path": "meta.json"}]
  }
}`;

Deno.test("parseBlockMeta reads the thanos section", () => {
  const m = parseBlockMeta(THANOS_META);
  assert.deepEqual(m.thanos, {
    version: 1,
    labels: { cluster: "eu1", replica: "a" },
    downsample: { resolution: 300000 },
    source: "sidecar",
    segmentFiles: ["000001", "000002"],
    files: [{ relPath: "chunks/000001", sizeBytes: 1024 }, { relPath: "meta.json" }],
  });
  assert.equal(m.compaction.parents[0].ulid, "01HQ8Z4N5V8ZK6C2Q0Y7J3W1XS");
  assert.deepEqual(parseBlockMeta(formatBlockMeta(m)), m);
});

Deno.test("parseBlockMeta rejects bad input with BlockMetaError naming file and field", () => {
  const bad = (text: string, re: RegExp) =>
    assert.throws(() => parseBlockMeta(text, "b/meta.json"), (e: unknown) => {
      assert.ok(e instanceof BlockMetaError);
      assert.match(e.message, /^b\/meta\.json: /);
      assert.match(e.message, re);
      return true;
    });
  bad("{", /invalid JSON/);
  bad("[]", /not a JSON object/);
  bad(THANOS_META.replace('"version": 1', '"version": 2'), /version: unsupported meta version 2/);
  bad(THANOS_META.replace("01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR", "nope"), /ulid: "nope" is not a ULID/);
  bad(THANOS_META.replace('"minTime": 1700000000000', '"minTime": "x"'), /minTime: not an integer/);
  bad(THANOS_META.replace('"resolution": 300000', '"resolution": -1'), /downsample.resolution/);
  bad(THANOS_META.replace('"replica": "a"', '"replica": 1'), /thanos.labels.replica/);
});

Deno.test("marker files parse and validate", () => {
  const d = parseDeletionMark(
    '{"id":"01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR","version":1,"details":"retention","deletion_time":1700000000}',
  );
  assert.deepEqual(d, {
    id: "01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR",
    version: 1,
    details: "retention",
    deletionTime: 1700000000,
  });
  const n = parseNoCompactMark(
    '{"id":"01HQ8Z4N5V8ZK6C2Q0Y7J3W1XR","version":1,"no_compact_time":5,"reason":"manual"}',
  );
  assert.equal(n.reason, "manual");
  assert.equal(n.noCompactTime, 5);
  assert.throws(() => parseDeletionMark('{"id":"x","version":1}'), BlockMetaError);
});
