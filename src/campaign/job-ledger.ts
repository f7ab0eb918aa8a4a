import type { Database } from "../database/database";
import { normaliseTarget, type JobStatus } from "../graph/model";
import { parseJobId } from "../queue/job-id";
import { isEdgeTarget, type Target } from "../queue/message";
import type { CompletionMessage } from "../queue/queue-set";

/** One apply as the ledger keeps it. */
export interface LedgerApply {
  applyId: string;
  func: string;
  along?: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** Seconds each message may run (the deadline the sentinel enforces). */
  walltime: number;
  /** Seconds the cluster gives each worker (SLURM --time): `walltime` minus the backend's grace. */
  workerWalltime: number;
  count: number;
}

/** A job of the ledger that has not finished. */
export interface UnfinishedJob {
  index: number;
  target: Target;
  /** The job's own kwargs (from `kwargsFor`), if they differ from the apply's. */
  kwargs?: Record<string, unknown>;
}

/**
 * The durable per-job record of a campaign in the database. Each job is (apply, index): the apply row
 * (`applies`) holds its function, args, kwargs, walltime and targets, plus the kwargs of the jobs whose
 * own differ (`kwargs_for`), written in one statement before the messages reach Redis (so a million-job
 * apply costs one row, not a million); `job_outcomes` gets one row per finished job from the watcher.
 * The `jobs` view joins them: one row per job with its target, kwargs, walltime and outcome.
 *
 * While a campaign runs, Redis (`outcomes` and the apply counters) is the authority; the ledger is what
 * survives Redis losing its data, and what `reconcile()` reads. `job_status` is a cache beside it: the
 * latest outcome of each function on each node or edge, what `jobStatus` shows.
 */
export class JobLedger {
  constructor(private readonly db: Database) {}

  /** Records an apply with its targets and the jobs' own kwargs, before anything is pushed. */
  async recordApply(apply: LedgerApply, targets: Target[], ownKwargs?: (index: number) => Record<string, unknown> | undefined): Promise<void> {
    let kwargsFor: Record<number, Record<string, unknown>> | undefined;
    if (ownKwargs) {
      for (let i = 0; i < targets.length; i++) {
        const own = ownKwargs(i);
        if (own) (kwargsFor ??= {})[i] = own;
      }
    }
    await this.db.query(
      `INSERT INTO applies (apply_id, func, along, count, args, kwargs, walltime, worker_walltime, targets, kwargs_for)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [apply.applyId, apply.func, apply.along ?? null, apply.count, JSON.stringify(apply.args), JSON.stringify(apply.kwargs), apply.walltime,
        apply.workerWalltime, JSON.stringify(targets), kwargsFor ? JSON.stringify(kwargsFor) : null],
    );
  }

  /**
   * Records a finished job (completed or dead-lettered): its outcome row and the `job_status` cache of its
   * function and target. Idempotent: a notice handled twice writes the same.
   */
  async recordOutcome(m: CompletionMessage): Promise<JobStatus> {
    // a job finished by a foreign worker, found once everything drained, comes without its target:
    // the ledger knows it (and the job's kwargs); the notice is completed here for every graph to see
    if (m.id === undefined || m.id === null) await this.fillFromLedger(m);
    const status = jobStatusOf(m);
    const result = status.result === undefined ? null : JSON.stringify(status.result);
    const job = parseJobId(m.job_id);
    if (job) {
      await this.db.query(
        `INSERT INTO job_outcomes (job_id, apply_id, idx, func, outcome, attempts, reason, finished_at, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (job_id) DO UPDATE SET outcome = EXCLUDED.outcome, attempts = EXCLUDED.attempts, reason = EXCLUDED.reason,
           finished_at = EXCLUDED.finished_at, result = EXCLUDED.result`,
        [m.job_id, job.applyId, job.index, m.func, status.success ? "completed" : "dead", status.attempts, m.reason ?? null, status.finishedAt, result],
      );
    }
    if (m.id === undefined || m.id === null) return status; // a job no apply of this ledger knows: no target to record
    await this.db.query(
      `INSERT INTO job_status (func, along, target, success, attempts, last_params, job_id, finished_at, result) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (func, along, target) DO UPDATE SET success = EXCLUDED.success, attempts = EXCLUDED.attempts,
         last_params = EXCLUDED.last_params, job_id = EXCLUDED.job_id, finished_at = EXCLUDED.finished_at, result = EXCLUDED.result`,
      [m.func, m.along, JSON.stringify(normaliseTarget(m.id)), status.success, status.attempts, JSON.stringify(status.lastParams), m.job_id, status.finishedAt, result],
    );
    return status;
  }

  /** Fills a notice's target, along and kwargs from the apply its job belongs to (if this ledger has it). */
  private async fillFromLedger(m: CompletionMessage): Promise<void> {
    const job = parseJobId(m.job_id);
    if (!job) return;
    const [a] = await this.db.query<{ along: string | null; target: string | null; kwargs: string; own: string | null }>(
      `SELECT along, (targets::jsonb -> $2::int)::text AS target, kwargs, (kwargs_for::jsonb -> $2::text)::text AS own
         FROM applies WHERE apply_id = $1`, [job.applyId, job.index]);
    if (!a?.target) return;
    const target = JSON.parse(a.target) as Target;
    m.id = target;
    m.along ??= a.along ?? (isEdgeTarget(target) ? "edge" : "node");
    m.kwargs ??= JSON.parse(a.own ?? a.kwargs) as Record<string, unknown>;
  }

  /** Finished jobs of an apply with their outcome as Redis keeps it (`c<attempts>` or `d`): what reconcile restores. */
  async finishedOutcomes(applyId: string): Promise<[jobId: string, outcome: string][]> {
    const rows = await this.db.query<{ job_id: string; outcome: string; attempts: number }>(
      "SELECT job_id, outcome, attempts FROM job_outcomes WHERE apply_id = $1", [applyId]);
    return rows.map((r) => [r.job_id, r.outcome === "dead" ? "d" : `c${Number(r.attempts) || 1}`]);
  }

  /** The latest outcome of every function on every target (the `jobStatus` cache). */
  async latestStatuses(): Promise<{ func: string; along: string; target: Target; status: JobStatus }[]> {
    const rows = await this.db.query<{ func: string; along: string; target: string; success: boolean; attempts: number; last_params: string | null; job_id: string | null; finished_at: Date | string; result: string | null }>(
      "SELECT func, along, target, success, attempts, last_params, job_id, finished_at, result FROM job_status");
    return rows.map((r) => ({
      func: r.func,
      along: r.along,
      target: JSON.parse(r.target) as Target,
      status: {
        success: r.success, attempts: Number(r.attempts), finishedAt: new Date(r.finished_at).toISOString(),
        lastParams: r.last_params ? (JSON.parse(r.last_params) as Record<string, unknown>) : undefined, jobId: r.job_id ?? undefined,
        ...(r.result !== null && r.result !== undefined ? { result: JSON.parse(r.result) as unknown } : {}),
      },
    }));
  }

  /** Recorded applies with their targets, in submission order (those named, or all). */
  async applies(applyIds?: string[]): Promise<LedgerApply[]> {
    const rows = await this.db.query<{ apply_id: string; func: string; along: string | null; count: number; args: string; kwargs: string; walltime: number; worker_walltime: number | null }>(
      `SELECT apply_id, func, along, count, args, kwargs, walltime, worker_walltime FROM applies
        WHERE targets IS NOT NULL ${applyIds ? "AND apply_id = ANY($1)" : ""} ORDER BY submitted_at`, applyIds ? [applyIds] : []);
    return rows.map((r) => ({
      applyId: r.apply_id, func: r.func, along: r.along ?? undefined, count: Number(r.count),
      args: JSON.parse(r.args) as unknown[], kwargs: JSON.parse(r.kwargs) as Record<string, unknown>,
      walltime: Number(r.walltime), workerWalltime: Number(r.worker_walltime ?? r.walltime),
    }));
  }

  /** Counts of an apply's jobs by outcome. */
  async counts(applyId: string): Promise<{ total: number; completed: number; dead: number }> {
    const [r] = await this.db.query<{ total: number; completed: string; dead: string }>(
      `SELECT a.count AS total,
              (SELECT count(*) FROM job_outcomes o WHERE o.apply_id = a.apply_id AND o.outcome = 'completed') AS completed,
              (SELECT count(*) FROM job_outcomes o WHERE o.apply_id = a.apply_id AND o.outcome = 'dead') AS dead
         FROM applies a WHERE a.apply_id = $1`, [applyId]);
    return { total: Number(r?.total ?? 0), completed: Number(r?.completed ?? 0), dead: Number(r?.dead ?? 0) };
  }

  /** The jobs of an apply that have not finished, in index order, with their own kwargs. */
  async unfinished(applyId: string): Promise<UnfinishedJob[]> {
    const [a] = await this.db.query<{ targets: string | null; kwargs_for: string | null }>(
      "SELECT targets, kwargs_for FROM applies WHERE apply_id = $1", [applyId]);
    if (!a?.targets) return [];
    const done = new Set((await this.db.query<{ idx: number }>("SELECT idx FROM job_outcomes WHERE apply_id = $1", [applyId])).map((r) => Number(r.idx)));
    const targets = JSON.parse(a.targets) as Target[];
    const own = a.kwargs_for ? (JSON.parse(a.kwargs_for) as Record<string, Record<string, unknown>>) : {};
    const out: UnfinishedJob[] = [];
    targets.forEach((target, index) => {
      if (done.has(index)) return;
      out.push({ index, target, ...(own[index] ? { kwargs: own[index] } : {}) });
    });
    return out;
  }
}

/**
 * The `jobStatus` entry of a finished job, from its completion notice: what the ledger writes to `job_status` and
 * what every graph puts in its cache (parameters and result capped the same way in both).
 */
export function jobStatusOf(m: CompletionMessage): JobStatus {
  return {
    success: m.status !== "dead", attempts: m.attempt, lastParams: capParams(m.kwargs ?? {}), finishedAt: new Date(m.finished_at).toISOString(),
    jobId: m.job_id, ...(m.reason ? { reason: m.reason } : {}), ...(m.result !== undefined ? { result: capResult(m.result) } : {}),
  };
}

/** Results kept in the database and in `jobStatus` are capped: a job that returns megabytes writes them itself. */
export const MAX_RESULT_BYTES = 16 * 1024;

export function capResult(result: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch {
    return { unserialisable: true };
  }
  if (text === undefined) return null;
  const bytes = Buffer.byteLength(text);
  return bytes > MAX_RESULT_BYTES ? { truncated: true, bytes } : result;
}

/** `last_params` kept in job_status (and shown as `lastParams`) are capped like results: large kwargs are the job's to keep. */
export const MAX_PARAMS_BYTES = 8 * 1024;

export function capParams(kwargs: Record<string, unknown>): Record<string, unknown> {
  let text: string;
  try {
    text = JSON.stringify(kwargs);
  } catch {
    return { unserialisable: true };
  }
  const bytes = Buffer.byteLength(text);
  return bytes > MAX_PARAMS_BYTES ? { truncated: true, bytes } : kwargs;
}
