/**
 * CPU profiles and heap snapshots of the running process through V8's inspector
 * (`node:inspector`), what Go's `net/http/pprof` gives the Go gateway, in V8's formats: a CPU
 * profile is a `.cpuprofile` (JSON: `nodes`, `samples`, `timeDeltas`, `startTime`, `endTime`;
 * Chrome DevTools and speedscope open it) sampled at V8's default interval (about 1 ms), and a
 * heap snapshot is a `.heapsnapshot` (JSON; DevTools' Memory tab), taken after a full GC.
 *
 * The inspector needs unscoped `--allow-sys` (Deno 2.9 rejects `--allow-sys=inspector`); without
 * it both fail with {@linkcode ProfilerUnavailableError}. One CPU profile and one heap snapshot
 * may run at a time; a second one fails with {@linkcode ProfilerBusyError}.
 *
 * @module
 */
import { Session } from "node:inspector/promises";

/** A profile of the same kind is already being taken. */
export class ProfilerBusyError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ProfilerBusyError";
}

/** The process may not open an inspector session (it lacks `--allow-sys`). */
export class ProfilerUnavailableError extends Error {
  /** The error's name, for logs. */
  override readonly name = "ProfilerUnavailableError";
}

/** A V8 CPU profile, as `Profiler.stop` returns it. */
export interface CpuProfile {
  /** The call tree. */
  nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
  /** Start, microseconds. */
  startTime: number;
  /** End, microseconds. */
  endTime: number;
  /** The node id of each sample. */
  samples: number[];
  /** Microseconds between samples. */
  timeDeltas: number[];
}

function connect(): Session {
  const session = new Session();
  try {
    session.connect();
  } catch (err) {
    if (err instanceof Deno.errors.NotCapable) {
      throw new ProfilerUnavailableError(
        "profiling needs the inspector, which needs --allow-sys (unscoped)",
        { cause: err },
      );
    }
    throw err;
  }
  return session;
}

/** Takes CPU profiles and heap snapshots, one of each kind at a time. */
export class Profiler {
  #cpuBusy = false;
  #heapBusy = false;

  /**
   * Samples the JavaScript running in the process for `ms` milliseconds, or until `signal`
   * aborts (the profile then covers the time until the abort).
   */
  async cpuProfile(ms: number, signal?: AbortSignal): Promise<CpuProfile> {
    if (this.#cpuBusy) throw new ProfilerBusyError("a CPU profile is already being taken");
    const session = connect();
    this.#cpuBusy = true;
    try {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener("abort", done);
        if (signal?.aborted) done();
      });
      const { profile } = await session.post("Profiler.stop");
      return profile as CpuProfile;
    } finally {
      session.disconnect();
      this.#cpuBusy = false;
    }
  }

  /**
   * A heap snapshot as a stream of its JSON text. The snapshot is taken when the stream is
   * created, and the process does nothing else meanwhile (seconds for a heap of gigabytes); its
   * chunks are encoded as V8 hands them over, so no single string holds it whole.
   */
  heapSnapshot(): ReadableStream<Uint8Array> {
    if (this.#heapBusy) throw new ProfilerBusyError("a heap snapshot is already being taken");
    const session = connect();
    this.#heapBusy = true;
    const release = () => {
      session.disconnect();
      this.#heapBusy = false;
    };
    const encoder = new TextEncoder();
    // A reader that goes away cancels the stream; V8 still delivers the rest of the snapshot.
    let cancelled = false;
    return new ReadableStream<Uint8Array>({
      start(controller) {
        session.on("HeapProfiler.addHeapSnapshotChunk", (message) => {
          if (!cancelled) controller.enqueue(encoder.encode(message.params.chunk));
        });
        session.post("HeapProfiler.takeHeapSnapshot", { reportProgress: false }).then(
          () => {
            release();
            if (!cancelled) controller.close();
          },
          (err) => {
            release();
            if (!cancelled) controller.error(err);
          },
        );
      },
      cancel() {
        cancelled = true;
      },
    });
  }
}
