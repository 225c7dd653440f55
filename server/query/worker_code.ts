/**
 * The read permission a query worker needs to start. Deno loads a worker's module graph with the
 * worker's permissions, checking read access to every local module (npm packages and `node:`
 * modules excepted), unlike the main module's graph: under `deno run` with a scoped
 * `--allow-read`, the directories holding the modules `worker.ts` imports must be granted. A
 * compiled binary carries the modules; its `--allow-read` covers them.
 *
 * @module
 */

/**
 * The top-level directories of the gateway whose modules a worker loads, relative to the
 * repository root (`worker_code_test.ts` compares them with `deno info` of `worker.ts`).
 */
export const WORKER_CODE_DIRS: readonly string[] = [
  "engine",
  "internal",
  "model",
  "proto",
  "server",
  "storage",
];

/** The repository root, where {@linkcode WORKER_CODE_DIRS} are. */
const ROOT_URL = new URL("../../", import.meta.url);

/** The absolute paths of {@linkcode WORKER_CODE_DIRS}, or none when the code is not on disk. */
export function workerCodePaths(): string[] {
  if (ROOT_URL.protocol !== "file:") return [];
  const root = decodeURIComponent(ROOT_URL.pathname);
  return WORKER_CODE_DIRS.map((d) => root + d);
}

/**
 * The directories of {@linkcode workerCodePaths} whose read permission is not granted: empty
 * when workers can start.
 */
export function unreadableWorkerCode(): string[] {
  return workerCodePaths().filter((path) =>
    Deno.permissions.querySync({ name: "read", path }).state !== "granted"
  );
}
