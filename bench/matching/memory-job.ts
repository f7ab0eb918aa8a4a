/**
 * A job module for the campaign benchmark's memory check (listed under the bench config's `jobs:`):
 * `bench_subpixel_memory` runs the real `subpixel_register_point` job on its point and returns, besides the
 * counts, how many jobs this worker process has run so far and the process's memory right after this one —
 * resident set size, V8 heap, and OpenCV's WASM heap (its size and the allocator probe of src/vision/opencv.ts) —
 * every GC_EVERY jobs after a full garbage collection.
 * Reading them from the job outcomes shows the worker's memory after 1 000 and 10 000 jobs.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { subpixelRegisterPointJob } from "../../src/jobs/matching";
import { wasmHeapBytes, wasmHeapProbe } from "../../src/vision/opencv";
import type { JobContext, JobRegistry } from "../../src/worker/registry";

export const MEMORY_JOB = "bench_subpixel_memory";

let jobs = 0;

/** Every this many jobs the sample is taken after a full garbage collection, so garbage not yet collected does not count. */
export const GC_EVERY = 250;

// a full collection on demand without starting the worker with --expose-gc (V8's flag, then the function from a new context)
setFlagsFromString("--expose-gc");
const collect = runInNewContext("gc") as () => void;

export interface MemorySample {
  /** jobs run by this process, this one included */
  n: number;
  /** taken after a full garbage collection (every GC_EVERY jobs) */
  gc: boolean;
  pid: number;
  accepted: number;
  rss: number;
  heapUsed: number;
  external: number;
  wasmHeap: number;
  wasmProbe: number;
}

export function register(registry: JobRegistry): void {
  registry.register(MEMORY_JOB, async (ctx: JobContext): Promise<MemorySample> => {
    const r = await subpixelRegisterPointJob(ctx);
    jobs++;
    const gc = jobs % GC_EVERY === 0;
    if (gc) collect();
    const m = process.memoryUsage();
    return {
      n: jobs, gc, pid: process.pid, accepted: r.accepted, rss: m.rss, heapUsed: m.heapUsed, external: m.external,
      wasmHeap: wasmHeapBytes(), wasmProbe: wasmHeapProbe(),
    };
  });
}
