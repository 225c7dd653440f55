import assert from "node:assert/strict";
import { resolve } from "node:path";
import { notCapable } from "../internal/permission.ts";
import { parseBucketConfig } from "../storage/objstore/config.ts";
import {
  bucketScopes,
  explainDenial,
  listenScope,
  pathScopes,
  PermissionDeniedError,
  type PermissionScope,
} from "./permissions.ts";

const SCOPES: PermissionScope[] = [
  ...bucketScopes(
    parseBucketConfig("type: FILESYSTEM\nconfig: {directory: /var/lib/pq}", "t"),
    "objstore.config-file",
    false,
  ),
  ...pathScopes("/var/cache/labels/", "the label file directory of --block.labelfilepath", true),
  listenScope(9000, "http.prometheus.port"),
];

Deno.test("explainDenial names the permission, what asked for it and the flag to add", () => {
  const line = (err: unknown) => explainDenial(err, SCOPES)?.message;
  // A file below a scope is granted by the scope's directory: one flag for the whole bucket.
  assert.equal(
    line(
      new Error("FILESYSTEM get", {
        cause: notCapable("read", "/var/lib/pq/1/2025-01-01/meta.pb"),
      }),
    ),
    'permission denied: read access to "/var/lib/pq/1/2025-01-01/meta.pb" (the FILESYSTEM ' +
      "bucket of --objstore.config-file); run with --allow-read=/var/lib/pq",
  );
  assert.equal(
    line(notCapable("write", "/var/cache/labels/1%2F2025-01-01%2F0.labels.parquet")),
    'permission denied: write access to "/var/cache/labels/1%2F2025-01-01%2F0.labels.parquet" ' +
      "(the label file directory of --block.labelfilepath); run with --allow-write=/var/cache/labels",
  );
  assert.equal(
    line(notCapable("net", "0.0.0.0:9000")),
    'permission denied: net access to "0.0.0.0:9000" (--http.prometheus.port); ' +
      "run with --allow-net=0.0.0.0:9000",
  );
  // Outside every scope: a sibling that shares the prefix, another port, another permission.
  assert.equal(
    line(notCapable("read", "/var/lib/pqx/a")),
    'permission denied: read access to "/var/lib/pqx/a"; run with --allow-read=/var/lib/pqx/a',
  );
  assert.equal(
    line(notCapable("net", "0.0.0.0:9001")),
    'permission denied: net access to "0.0.0.0:9001"; run with --allow-net=0.0.0.0:9001',
  );
  assert.equal(
    line(notCapable("write", "/var/lib/pq/x")),
    'permission denied: write access to "/var/lib/pq/x"; run with --allow-write=/var/lib/pq/x',
  );
  assert.equal(
    line(new AggregateError([notCapable("sys", "uid")], "failed to load 1 day(s)")),
    'permission denied: sys access to "uid"; run with --allow-sys=uid',
  );
  assert.equal(
    line(
      new Deno.errors.NotCapable(
        "Requires read access to <CWD>, run again with the --allow-read flag",
      ),
    ),
    'permission denied: read access to "<CWD>"; run with --allow-read',
  );
  const odd = new Deno.errors.NotCapable("Requires --allow-run permissions to spawn subprocess");
  assert.equal(line(odd), `permission denied: ${odd.message}`);
  assert.equal(explainDenial(new Error("disk full"), SCOPES), undefined);
  const already = new PermissionDeniedError(
    { permission: "read", resource: "/x", message: "m" },
    "--allow-read=/x",
  );
  assert.equal(explainDenial(already, SCOPES), already);
});

Deno.test("scopes: FILESYSTEM buckets resolve their directory, other providers add none", () => {
  const fs = parseBucketConfig("type: FILESYSTEM\nconfig: {directory: data/parquet}", "t");
  assert.deepEqual(bucketScopes(fs, undefined, true), [
    {
      permission: "read",
      resource: resolve("data/parquet"),
      origin: "the default FILESYSTEM bucket data/parquet",
    },
    {
      permission: "write",
      resource: resolve("data/parquet"),
      origin: "the default FILESYSTEM bucket data/parquet",
    },
  ]);
  const s3 = parseBucketConfig(
    "type: S3\nconfig: {bucket: b, endpoint: s3.example.com, access_key: a, secret_key: s}",
    "t",
  );
  assert.deepEqual(bucketScopes(s3, "objstore.config", false), []);
});
