import assert from "node:assert/strict";
import { createLogger } from "../internal/log.ts";
import { ObjstoreConfigError } from "../storage/objstore/config.ts";
import { parseFlagsSpelled } from "./flags.ts";
import { loadObjstore, objstoreFlags, objstoreSource } from "./objstore.ts";

const FLAGS = objstoreFlags("tsdb.objstore.config", "tsdb.objstore-config", "the bucket", "./x");
const FALLBACK = { type: "FILESYSTEM" as const, config: { directory: "./x" }, prefix: "" };

function source(args: string[]) {
  return objstoreSource(parseFlagsSpelled(FLAGS, args), "tsdb.objstore.config");
}

function recording() {
  const messages: string[] = [];
  const logger = createLogger({ format: "json", write: (l) => messages.push(JSON.parse(l).msg) });
  return { logger, messages };
}

Deno.test("the Go spellings set the same bucket and are named in messages", () => {
  assert.deepEqual(source(["--tsdb.objstore-config-file=b.yaml"]), {
    file: "b.yaml",
    inline: undefined,
    flag: "tsdb.objstore-config",
  });
  assert.deepEqual(source(["--tsdb.objstore-config=type: S3"]), {
    file: undefined,
    inline: "type: S3",
    flag: "tsdb.objstore-config",
  });
  // The file wins, so its spelling is the one to name.
  assert.deepEqual(source(["--tsdb.objstore-config=x", "--tsdb.objstore.config-file=f"]), {
    file: "f",
    inline: "x",
    flag: "tsdb.objstore.config",
  });
  assert.deepEqual(source([]), {
    file: undefined,
    inline: undefined,
    flag: "tsdb.objstore.config",
  });
});

Deno.test("without a flag the fallback bucket is used and logged", async () => {
  const { logger, messages } = recording();
  assert.equal(await loadObjstore(source([]), FALLBACK, logger), FALLBACK);
  assert.deepEqual(messages, [
    "no --tsdb.objstore.config(-file) given: using FILESYSTEM bucket at ./x",
  ]);
});

Deno.test("a configured bucket is not announced; its errors name the flag as typed", async () => {
  const { logger, messages } = recording();
  const dir = await Deno.makeTempDir();
  try {
    const config = await loadObjstore(
      source([`--tsdb.objstore-config=type: FILESYSTEM\nconfig: {directory: ${dir}}`]),
      FALLBACK,
      logger,
    );
    assert.equal(config.type, "FILESYSTEM");
    assert.equal(config.config.directory, dir);
    assert.deepEqual(messages, []);
    await assert.rejects(
      loadObjstore(source([`--tsdb.objstore-config-file=${dir}/none.yaml`]), FALLBACK, logger),
      (e: Error) =>
        e instanceof ObjstoreConfigError &&
        e.message.startsWith(`--tsdb.objstore-config-file=${dir}/none.yaml: cannot read file`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
