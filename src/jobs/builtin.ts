import type { JobRegistry } from "../registry";

/**
 * Jobs every worker knows. `noop` for throughput figures; `sleep` for walltime experiments
 * (kwargs `seconds`; it honours the abort signal unless `ignore_abort` is true).
 */
export function registerBuiltinJobs(registry: JobRegistry): JobRegistry {
  registry.register("noop", () => undefined);
  registry.register("sleep", ({ kwargs, signal }) => {
    const ms = Number(kwargs.seconds ?? 1) * 1000;
    return new Promise<{ slept: number }>((resolve, reject) => {
      const t = setTimeout(() => resolve({ slept: ms / 1000 }), ms);
      if (!kwargs.ignore_abort) {
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        }, { once: true });
      }
    });
  });
  return registry;
}
