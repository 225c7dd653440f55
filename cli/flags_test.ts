import assert from "node:assert/strict";
import {
  type FlagDef,
  formatHelp,
  parseFlags,
  parseFlagsSpelled,
  splitAtCommand,
  UsageError,
} from "./flags.ts";

const DEFS: FlagDef[] = [
  { name: "a.duration", kind: "duration", default: "5m", help: "d" },
  { name: "a.bytes", kind: "bytes", default: "2MiB", help: "b" },
  { name: "a.int", kind: "int", default: "1_000_000", help: "i" },
  { name: "a.float", kind: "float", default: "0.1", help: "f" },
  { name: "a.bool", kind: "bool", default: "true", help: "b" },
  { name: "a.flag", kind: "bool", help: "f" },
  { name: "a.enum", kind: "enum", values: ["x", "y", ""], default: "", help: "e" },
  { name: "a.list", kind: "strings", default: ["__name__"], help: "l" },
  { name: "a.kv", kind: "keyValues", help: "kv" },
  { name: "a.str", kind: "string", help: "s" },
];

Deno.test("defaults are converted to typed values", () => {
  assert.deepEqual(parseFlags(DEFS, []), {
    "a.duration": 300_000,
    "a.bytes": 2 * 1024 * 1024,
    "a.int": 1_000_000,
    "a.float": 0.1,
    "a.bool": true,
    "a.flag": false,
    "a.enum": "",
    "a.list": ["__name__"],
    "a.kv": {},
    "a.str": undefined,
  });
});

Deno.test("both --flag=value and --flag value; repeated flags; negation", () => {
  const v = parseFlags(DEFS, [
    "--a.duration=1h30m",
    "--a.bytes",
    "64MiB",
    "--no-a.bool",
    "--a.flag",
    "--a.list=job",
    "--a.list",
    "instance",
    "--a.kv=cluster=eu=1",
    "--a.kv",
    "replica=a",
    "--a.enum=y",
    "--a.str=",
  ]);
  assert.equal(v["a.duration"], 5_400_000);
  assert.equal(v["a.bytes"], 64 * 1024 * 1024);
  assert.equal(v["a.bool"], false);
  assert.equal(v["a.flag"], true);
  assert.deepEqual(v["a.list"], ["job", "instance"], "given values replace the default");
  assert.deepEqual(v["a.kv"], { cluster: "eu=1", replica: "a" });
  assert.equal(v["a.enum"], "y");
  assert.equal(v["a.str"], "");
});

function assertUsage(args: string[], pattern: RegExp) {
  assert.throws(() => parseFlags(DEFS, args), (e: Error) => {
    assert.ok(e instanceof UsageError, String(e));
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes("\n"), "one line");
    return true;
  }, args.join(" "));
}

Deno.test("bad input names the flag and the value", () => {
  assertUsage(["--a.duration=5x"], /^--a\.duration: invalid duration "5x"/);
  assertUsage(["--a.bytes=lots"], /^--a\.bytes: invalid byte size "lots"/);
  assertUsage(["--a.int=1.5"], /^--a\.int: invalid integer "1\.5"/);
  assertUsage(["--a.float=abc"], /^--a\.float: invalid number "abc"/);
  assertUsage(["--a.enum=z"], /^--a\.enum: invalid value "z", expected one of "x", "y", ""/);
  assertUsage(["--a.kv=novalue"], /^--a\.kv: expected KEY=VALUE, got "novalue"/);
  assertUsage(["--a.duraton=5m"], /^unknown flag --a\.duraton, did you mean --a\.duration\?/);
  assertUsage(["--zzz"], /^unknown flag --zzz$/);
  assertUsage(["--a.duration"], /^--a\.duration: expected a value/);
  assertUsage(["--a.flag=yes"], /^--a\.flag: does not take a value/);
  assertUsage(["stray"], /^unexpected argument stray/);
  assertUsage(["--no-a.str"], /^--a\.str: is not a boolean flag/);
});

Deno.test("help lists every flag with its default", () => {
  const help = formatHelp("x [<flags>]", "Does x.", DEFS);
  for (const d of DEFS) assert.ok(help.includes(`--${d.kind === "bool" ? "[no-]" : ""}${d.name}`));
  assert.match(help, /--a\.duration=DURATION\n\s+d Default: 5m\./);
  assert.match(help, /--a\.bytes=BYTES\n\s+b Default: 2MiB\./);
  assert.match(help, /--a\.list=STRING\n\s+l Repeatable\. Default: __name__\./);
});

const ALIASED: FlagDef[] = [
  { name: "store.config", kind: "string", aliases: ["go.store-config"], help: "s" },
  { name: "store.timeout", kind: "duration", default: "5m", aliases: ["go.timeout"], help: "t" },
  { name: "store.label", kind: "strings", aliases: ["go.label"], help: "l" },
  { name: "store.enabled", kind: "bool", aliases: ["go.enabled"], help: "b" },
];

Deno.test("an alias is the same flag: the last value wins, repeated values collect in order", () => {
  const { values, spelling } = parseFlagsSpelled(ALIASED, [
    "--store.config=a",
    "--go.store-config",
    "b",
    "--go.label=x",
    "--store.label=y",
    "--go.label=z",
    "--go.enabled",
    "--no-store.enabled",
    "--go.timeout=1m",
  ]);
  assert.deepEqual(values, {
    "store.config": "b",
    "store.timeout": 60_000,
    "store.label": ["x", "y", "z"],
    "store.enabled": false,
  });
  assert.deepEqual(Object.fromEntries(spelling), {
    "store.config": "go.store-config",
    "store.timeout": "go.timeout",
    "store.label": "go.label",
    "store.enabled": "store.enabled",
  });
  assert.equal(parseFlags(ALIASED, ["--no-go.enabled"])["store.enabled"], false);
  assert.equal(parseFlags(ALIASED, [])["store.timeout"], 300_000, "defaults stay");
});

Deno.test("errors name a flag as it was typed; help shows every name", () => {
  assert.throws(() => parseFlags(ALIASED, ["--go.timeout=soon"]), /^UsageError: --go\.timeout:/);
  assert.throws(() => parseFlags(ALIASED, ["--go.store-config"]), /--go\.store-config: expected/);
  assert.throws(
    () => parseFlags(ALIASED, ["--go.store-confg=x"]),
    /unknown flag --go\.store-confg, did you mean --go\.store-config\?/,
  );
  const help = formatHelp("x", "X.", ALIASED);
  assert.match(help, /^ {2}--store\.config=STRING, --go\.store-config=STRING\n/m);
  assert.match(help, /^ {2}--\[no-\]store\.enabled, --\[no-\]go\.enabled\n/m);
});

Deno.test("global flags and their values come before the command; other flags may not", () => {
  const globals: FlagDef[] = [
    { name: "log.level", kind: "string", aliases: ["logger.level"], help: "l" },
    { name: "verbose", kind: "bool", help: "v" },
  ];
  const split = (...args: string[]) => splitAtCommand(globals, ["--help"], args);
  assert.deepEqual(split("--log.level", "serve", "--verbose", "serve", "--x=1"), {
    before: ["--log.level", "serve", "--verbose"],
    command: "serve",
    after: ["--x=1"],
  });
  assert.deepEqual(split("--logger.level=DEBUG", "--no-verbose", "--help", "convert"), {
    before: ["--logger.level=DEBUG", "--no-verbose", "--help"],
    command: "convert",
    after: [],
  });
  assert.deepEqual(split("--verbose"), { before: ["--verbose"], command: undefined, after: [] });
  assert.throws(() => split("--x=1", "serve"), /^UsageError: unknown flag --x before the command;/);
  assert.throws(() => split("-v", "serve"), /unknown flag -v before the command/);
});
