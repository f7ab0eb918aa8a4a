import { pathToFileURL } from "url";
import type { Redis } from "ioredis";
import type { Config } from "../config";
import type { Database } from "../database";
import type { JobMessage } from "../queue/message";
import type { RetryPolicy } from "./retry";

/** What a job function is handed: its message's parts and the services it writes results through. */
export interface JobContext {
  message: JobMessage;
  jobId: string;
  id: JobMessage["id"];
  along: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  attempt: number;
  /** Aborted at walltime or when the worker is told to stop; long jobs should watch it. */
  signal: AbortSignal;
  /** Where results go: the campaign's database (PostgreSQL, or the embedded one served by the graph). */
  db: Database;
  /** The worker's Redis client (for jobs that keep results in Redis; most write to the database). */
  redis: Redis;
  config: Config;
  log: (...parts: unknown[]) => void;
}

export type JobFunction = (ctx: JobContext) => unknown | Promise<unknown>;

export interface JobDefinition extends RetryPolicy {
  run: JobFunction;
}

/** A module listed under `jobs:` exports `register(registry)` (or default-exports it), or `jobs: {name: fn | def}`. */
export interface JobModule {
  register?: (registry: JobRegistry) => void | Promise<void>;
  default?: unknown;
  jobs?: Record<string, JobFunction | JobDefinition>;
}

/**
 * Job functions by name. Only registered names ever run: a message's `func` is looked up here and never
 * imported or evaluated.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, JobDefinition>();

  register(name: string, run: JobFunction, policy: RetryPolicy = {}): this {
    if (!/^[A-Za-z_][\w.:-]*$/.test(name)) {
      throw new Error(`job name '${name}' is not valid: use letters, digits, '_', '.', ':' or '-'`);
    }
    if (typeof run !== "function") throw new Error(`job '${name}': expected a function, got ${typeof run}`);
    this.jobs.set(name, { ...policy, run });
    return this;
  }

  get(name: string): JobDefinition | undefined {
    return this.jobs.get(name);
  }

  has(name: string): boolean {
    return this.jobs.has(name);
  }

  names(): string[] {
    return [...this.jobs.keys()].sort();
  }

  /** Loads job modules (config `jobs:`). Operator-listed paths only; never a path from a message. */
  async loadModules(paths: string[]): Promise<this> {
    for (const p of paths) {
      let mod: JobModule;
      try {
        mod = (await import(pathToFileURL(p).href)) as JobModule;
      } catch (err) {
        throw new Error(`jobs: cannot load job module ${p}: ${(err as Error).message.split("\n")[0]}`);
      }
      await this.registerModule(mod, p);
    }
    return this;
  }

  private async registerModule(mod: JobModule, where: string): Promise<void> {
    // CommonJS modules imported from ESM land under `default`.
    const inner = (mod.default && typeof mod.default === "object" ? mod.default : undefined) as JobModule | undefined;
    const register = mod.register ?? inner?.register ?? (typeof mod.default === "function" ? mod.default : undefined);
    const jobs = mod.jobs ?? inner?.jobs;
    if (!register && !jobs) {
      throw new Error(`jobs: module ${where} exports neither register(registry) nor jobs: {name: fn}`);
    }
    if (register) await (register as (r: JobRegistry) => unknown)(this);
    for (const [name, def] of Object.entries(jobs ?? {})) {
      if (typeof def === "function") this.register(name, def);
      else this.register(name, def.run, def);
    }
  }
}
