/**
 * Local test servers for the object storage providers: each runs in a child process on
 * 127.0.0.1 with a port chosen by the system, and is stopped by its PID.
 *
 * @module
 */

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + text).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest) yield rest;
}

/** A running test server. */
export interface TestServer {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  /** The port. */
  port: number;
  /** Kills the process by PID and removes its data. */
  stop(): Promise<void>;
}

/**
 * Starts a child process and waits until a line of its standard output or error matches
 * `ready` (whose first group is the port).
 */
async function startProcess(
  name: string,
  args: string[],
  ready: RegExp,
  cleanup: () => Promise<void>,
  cwd?: string,
  scheme = "http",
): Promise<TestServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    cwd,
  }).spawn();
  const seen: string[] = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // SIGKILL: azurite logs "closed" on SIGTERM but its Deno process does not exit.
    try {
      Deno.kill(child.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    await child.status;
    await cleanup();
  };
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} did not start in 60s:\n${seen.join("\n")}`)),
      60_000,
    );
    const watch = async (stream: ReadableStream<Uint8Array>) => {
      for await (const line of lines(stream)) {
        if (seen.length < 200) seen.push(line);
        const m = ready.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    };
    watch(child.stdout).catch(() => {});
    watch(child.stderr).catch(() => {});
    child.status.then((s) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${s.code}:\n${seen.join("\n")}`));
    });
  }).catch(async (e) => {
    await stop();
    throw e;
  });
  return { url: `${scheme}://127.0.0.1:${port}`, port, stop };
}

/** The lockfile of tests and test servers: the runtime's deno.lock plus test-only packages. */
const DEV_LOCK = new URL("../../../deno.dev.lock", import.meta.url).pathname;

/** Starts npm `s3rver` with the given buckets, storing into a temporary directory. */
export async function startS3rver(buckets: string[]): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "s3rver-" });
  return await startProcess(
    "s3rver",
    [
      "run",
      "-A",
      "--lock",
      DEV_LOCK,
      "--frozen",
      new URL("./s3rver_main.ts", import.meta.url).pathname,
      dir,
      ...buckets,
    ],
    /^\{"port":(\d+)\}$/,
    () => Deno.remove(dir, { recursive: true }),
  );
}

/** The well-known development account of Azurite. */
export const AZURITE_ACCOUNT = "devstoreaccount1";
/** Its published key (not a secret). */
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/** Options of {@linkcode startAzurite}. */
export interface AzuriteOptions {
  /**
   * Serve https with this certificate and key (PEM files) and accept Azure AD bearer tokens
   * (`--oauth basic`: azurite checks their shape, lifetime, issuer and audience, not signatures).
   */
  oauth?: { certFile: string; keyFile: string };
}

/** Starts npm `azurite`'s blob service, in memory, in loose mode. */
export async function startAzurite(options: AzuriteOptions = {}): Promise<TestServer> {
  const dir = await Deno.makeTempDir({ prefix: "azurite-" });
  const oauth = options.oauth
    ? ["--oauth", "basic", "--cert", options.oauth.certFile, "--key", options.oauth.keyFile]
    : [];
  return await startProcess(
    "azurite",
    [
      "run",
      "-A",
      // The project's config and its test lockfile (test servers are not in the runtime's
      // deno.lock), even though the process runs in a temporary directory.
      "--config",
      new URL("../../../deno.json", import.meta.url).pathname,
      "--lock",
      DEV_LOCK,
      "--frozen",
      "npm:azurite@3.37.0/azurite-blob",
      "--blobHost",
      "127.0.0.1",
      "--blobPort",
      "0",
      "--inMemoryPersistence",
      "--loose",
      "--skipApiVersionCheck",
      "--disableTelemetry",
      ...oauth,
    ],
    /successfully listens on https?:\/\/127\.0\.0\.1:(\d+)/,
    () => Deno.remove(dir, { recursive: true }),
    // In memory, but anything it writes still lands in a directory removed afterwards.
    dir,
    options.oauth ? "https" : "http",
  );
}

/** A self-signed certificate for 127.0.0.1 and its key, as PEM files. */
export interface SelfSignedCertificate {
  /** The certificate, which is also its own CA. */
  certFile: string;
  /** The private key. */
  keyFile: string;
  /** Removes both. */
  remove(): Promise<void>;
}

/** Reports whether `openssl` can be run here. */
export function hasOpenssl(): boolean {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Makes a one-day self-signed certificate for `127.0.0.1` and `localhost` with `openssl`. */
export async function selfSignedCertificate(): Promise<SelfSignedCertificate> {
  const dir = await Deno.makeTempDir({ prefix: "tls-" });
  const out = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      `${dir}/key.pem`,
      "-out",
      `${dir}/cert.pem`,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(dir, { recursive: true });
    throw new Error(`openssl req: ${new TextDecoder().decode(out.stderr)}`);
  }
  return {
    certFile: `${dir}/cert.pem`,
    keyFile: `${dir}/key.pem`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
