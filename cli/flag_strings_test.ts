import assert from "node:assert/strict";
import { flagStrings, SECRET_PLACEHOLDER } from "./flag_strings.ts";
import { parseFlags } from "./flags.ts";
import { SERVE_FLAGS } from "./serve_config.ts";

Deno.test("flagStrings lists every flag, defaults in the form Prometheus prints them", () => {
  const strings = flagStrings(SERVE_FLAGS, parseFlags(SERVE_FLAGS, []));
  assert.deepEqual(Object.keys(strings), SERVE_FLAGS.map((d) => d.name));
  assert.equal(strings["query.lookback"], "5m");
  assert.equal(strings["block.filter.thanos-backfill.overlap"], "1d");
  assert.equal(strings["block.syncer.read-buffer-size"], "2MiB");
  assert.equal(strings["query.limits.select.max-chunk-bytes"], "0B");
  assert.equal(strings["query.storage.page-cache-size"], "128MiB");
  assert.equal(strings["query.max-samples"], "10000000");
  assert.equal(strings["query.limits.queries.max-concurrent"], "100");
  assert.equal(strings["tracing.sampling.param"], "0.1");
  assert.equal(strings["tracing.exporter.type"], "");
  assert.equal(strings["http.prometheus.port"], "9000");
  assert.equal(strings["objstore.config-file"], "");
  assert.equal(strings["objstore.config"], "", "an unset secret is shown as unset");
  assert.equal(strings["query.external-label"], "");
  assert.equal(strings["log.level"], "info");
});

Deno.test("flagStrings shows given values canonically and masks secrets", () => {
  const yaml = "type: S3\nconfig: {bucket: b, secret_key: hunter2}";
  const strings = flagStrings(
    SERVE_FLAGS,
    parseFlags(SERVE_FLAGS, [
      `--objstore.config=${yaml}`,
      "--query.lookback=90m",
      "--query.step=0.5m",
      "--query.storage.page-cache-size=1536KB",
      "--query.limits.max-shard-count=1_000",
      "--query.external-label=region=eu",
      "--query.external-label=env=prod",
    ]),
  );
  assert.equal(strings["objstore.config"], SECRET_PLACEHOLDER);
  assert.ok(!JSON.stringify(strings).includes("hunter2"));
  assert.equal(strings["query.lookback"], "1h30m");
  assert.equal(strings["query.step"], "30s");
  assert.equal(strings["query.storage.page-cache-size"], "1MiB512KiB");
  assert.equal(strings["query.limits.max-shard-count"], "1000");
  assert.equal(strings["query.external-label"], "region=eu,env=prod");
});

Deno.test("each shown default, given back as the flag, parses to the same value", () => {
  const defaults = parseFlags(SERVE_FLAGS, []);
  const strings = flagStrings(SERVE_FLAGS, defaults);
  for (const def of SERVE_FLAGS) {
    if (defaults[def.name] === undefined || def.kind === "keyValues" || def.kind === "strings") {
      continue;
    }
    const given = parseFlags(SERVE_FLAGS, [`--${def.name}=${strings[def.name]}`]);
    assert.deepEqual(given[def.name], defaults[def.name], def.name);
  }
});
