/**
 * Runs npm `s3rver` on 127.0.0.1 in its own process for the S3 provider tests, which stop it by
 * PID. Arguments: the data directory, then the buckets to create. Prints `{"port": N}` once it
 * listens.
 *
 * @module
 */
// A test server, so not in deno.json's import map: everything there is installed to run the gateway.
// deno-lint-ignore no-import-prefix
import S3rver from "npm:s3rver@3.7.1";

if (import.meta.main) {
  const [directory, ...buckets] = Deno.args;
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    directory,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const address = await server.run();
  console.log(JSON.stringify({ port: address.port }));
}
