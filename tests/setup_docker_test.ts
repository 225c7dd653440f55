/**
 * The README's `docker run` line against the `Dockerfile`: the published ports are the image's
 * EXPOSEd ones and serve's defaults, the YAML is mounted where the image's command reads it and
 * exists in the checkout, every `$(NAME)` it references is passed with `-e`, and the image is the
 * one `docker build -t` tags. Docker cannot run here, so the image's ENTRYPOINT + CMD command line
 * runs with the compiled binary's permissions on a temporary bucket instead: it must become ready,
 * answer the Prometheus API and exit 0 on SIGTERM (`docker stop`).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { SERVE_FLAGS } from "../cli/serve_config.ts";
import { type GatewayProcess, ROOT, startGateway } from "./gateway_process.ts";
import { readReadme, shellBlocks, shellWords } from "./readme_examples.ts";

interface Dockerfile {
  /** The runtime (last) stage's ENTRYPOINT, exec form. */
  entrypoint: string[];
  /** Its CMD, exec form. */
  cmd: string[];
  /** Its EXPOSEd ports. */
  expose: string[];
  /** Its `COPY --from=... <src> <dest>` destinations. */
  copied: string[];
}

async function readDockerfile(): Promise<Dockerfile> {
  const text = await Deno.readTextFile(`${ROOT}/Dockerfile`);
  const stages = text.replace(/\\\n/g, " ").split(/^FROM /m);
  const out: Dockerfile = { entrypoint: [], cmd: [], expose: [], copied: [] };
  for (const line of stages[stages.length - 1].split("\n")) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    const args = rest.join(" ");
    if (instruction === "ENTRYPOINT") out.entrypoint = JSON.parse(args);
    if (instruction === "CMD") out.cmd = JSON.parse(args);
    if (instruction === "EXPOSE") out.expose.push(...rest);
    if (instruction === "COPY") out.copied.push(rest[rest.length - 1]);
  }
  return out;
}

interface DockerRun {
  ports: string[];
  volumes: string[];
  env: string[];
  image: string;
  args: string[];
}

/** The options of a `docker run` line this test understands, the image and its arguments. */
function parseDockerRun(line: string): DockerRun {
  const words = shellWords(line);
  assert.deepEqual(words.slice(0, 2), ["docker", "run"]);
  const out: DockerRun = { ports: [], volumes: [], env: [], image: "", args: [] };
  let i = 2;
  for (; i < words.length && words[i].startsWith("-"); i++) {
    const flag = words[i];
    if (flag === "-d") continue;
    const value = words[++i];
    if (flag === "-p") out.ports.push(value);
    else if (flag === "-v") out.volumes.push(value);
    else if (flag === "-e") out.env.push(value.split("=")[0]);
    else if (flag !== "--name") assert.fail(`unexpected docker run flag ${flag}`);
  }
  out.image = words[i];
  out.args = words.slice(i + 1);
  return out;
}

async function dockerLines(): Promise<{ build: string; run: DockerRun }> {
  const lines = shellBlocks(await readReadme(), "## Setups").flat();
  const build = lines.find((l) => l.startsWith("docker build "));
  const run = lines.find((l) => l.startsWith("docker run "));
  assert.ok(build && run, "README's Setups shows docker build and docker run");
  return { build, run: parseDockerRun(run) };
}

const CONFIG_FLAG = "--objstore.config-file=";

Deno.test("README's docker run line fits the Dockerfile", async () => {
  const image = await readDockerfile();
  const { build, run } = await dockerLines();
  assert.equal(/-t (\S+)/.exec(build)?.[1], run.image, "docker build -t tags the image run");
  assert.deepEqual(run.args, [], "the image's own command runs");

  const servePorts = SERVE_FLAGS.filter((f) => /^http\.\w+\.port$/.test(f.name)).map((f) =>
    f.default
  );
  assert.deepEqual([...image.expose].sort(), [...servePorts].sort(), "EXPOSE: serve's ports");
  assert.deepEqual(run.ports.map((p) => p.split(":").pop()).sort(), [...image.expose].sort());

  assert.ok(image.copied.includes(image.entrypoint[0]), "ENTRYPOINT is the copied binary");
  assert.equal(image.cmd[0], "serve");
  const configPath = image.cmd.find((a) => a.startsWith(CONFIG_FLAG))?.slice(CONFIG_FLAG.length);
  assert.ok(configPath, "CMD reads a mounted objstore YAML");
  assert.equal(run.volumes.length, 1);
  const [source, target, mode] = run.volumes[0].split(":");
  assert.equal(target, configPath);
  assert.equal(mode, "ro");
  const file = source.replace(/^\$PWD\//, `${ROOT}/`);
  assert.ok(existsSync(file), source);
  const settings = (await Deno.readTextFile(file)).replace(/^\s*#.*$/gm, "");
  const referenced = [...settings.matchAll(/\$\((\w+)\)/g)].map((m) => m[1]);
  assert.ok(referenced.length > 0);
  for (const name of referenced) assert.ok(run.env.includes(name), `-e ${name}`);
});

Deno.test({
  name: "the image's command line serves with the binary's permissions and stops with 0",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const image = await readDockerfile();
    const dir = await Deno.makeTempDir({ prefix: "docker-cmd-" });
    let serve: GatewayProcess | undefined;
    try {
      // The mounted file: a FILESYSTEM bucket in the temporary directory.
      const config = `${dir}/objstore.yaml`;
      await Deno.writeTextFile(config, `type: FILESYSTEM\nconfig:\n  directory: ${dir}/bucket\n`);
      await Deno.mkdir(`${dir}/bucket`);
      const args = image.cmd.map((a) => a.startsWith(CONFIG_FLAG) ? `${CONFIG_FLAG}${config}` : a);
      // The image has no WORKDIR: the process runs in /.
      serve = await startGateway(args, { cwd: "/" });
      const res = await fetch(`${serve.url}/api/v1/labels`);
      assert.deepEqual(await res.json(), { status: "success", data: [] });
      assert.equal(await serve.stop(), 0);
      serve = undefined;
    } finally {
      await serve?.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
