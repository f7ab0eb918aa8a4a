/**
 * The chaos suite's job functions, loaded by workers through the config's `jobs:` list. Each execution
 * that reaches its end writes ONE row into chaos_runs (a plain INSERT, no upsert, no unique key): a job
 * run twice leaves two rows, so duplicate executions are countable (rows − jobs).
 */
import type { JobContext, JobRegistry } from "../../src";

const INSERT = "INSERT INTO chaos_runs (job_id, pid, attempt, marker) VALUES ($1, $2, $3, $4)";

/** Sleeps, rejecting when `signal` aborts (what a well-behaved long job does). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); reject(signal.reason); }, { once: true });
  });
}

async function write(ctx: JobContext): Promise<void> {
  // a poison message's marker: in its kwargs, or in an unknown top-level key (kept in `extra`)
  const note = ctx.kwargs.marker ?? ctx.message.extra?.note;
  const marker = typeof note === "string" ? note : null;
  await ctx.db.query(INSERT, [ctx.jobId, process.pid, ctx.attempt, marker]);
}

export function register(registry: JobRegistry): void {
  // works for kwargs.ms (± half, by target), honouring its abort signal, then writes its row
  registry.register("chaos_write", async (ctx) => {
    const ms = Number(ctx.kwargs.ms ?? 100);
    const jitter = typeof ctx.id === "number" ? (ctx.id * 7919) % 100 : 50;
    await sleep(ms * (0.5 + jitter / 100), ctx.signal);
    await write(ctx);
    return { pid: process.pid };
  });

  // ignores its abort signal (a stuck native call): sleeps kwargs.seconds whatever happens, then writes its
  // row; after a walltime failure its retry is told to finish at once
  registry.register("chaos_stubborn", async (ctx) => {
    await new Promise((r) => setTimeout(r, Number(ctx.kwargs.seconds ?? 0) * 1000));
    await write(ctx);
    return { pid: process.pid, slept: ctx.kwargs.seconds };
  }, {
    maxfailures: 4,
    reparameterize: (message, failure) =>
      failure.cause === "walltime" || failure.cause === "heartbeat" ? { kwargs: { ...message.kwargs, seconds: 0 } } : undefined,
  });
}
