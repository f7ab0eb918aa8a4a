import type { Database } from "../database/database";
import { normaliseTarget, type JobStatus } from "../graph/model";
import { jobIdOf, parseJobId } from "../queue/job-id";
import type { Target } from "../queue/message";
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
  /** Seconds the cluster gives each worker (SLURM --time); `walltime` minus the backend's grace. */
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
 * The durable record of a campaign in the database: every apply (`applies`) and every job of it (`jobs`:
 * target, own kwargs, outcome), written before the messages reach Redis and completed by the watcher.
 * While a campaign runs, Redis (`outcomes` and the apply counters) is the authority; the ledger is what
 * survives Redis losing its data, and what `reconcile()` reads. `job_status` is a cache beside it: the
 * latest outcome of each function on each node or edge, what `jobStatus` shows.
 */
export class JobLedger {
  constructor(private readonly db: Database) {}

  /** Records an apply and one row per job (in chunks), before anything is pushed. */
  async recordApply(apply: LedgerApply, targets: Target[], ownKwargs?: (index: number) => Record<string, unknown> | undefined): Promise<void> {
    await this.db.query(
      `INSERT INTO applies (apply_id, func, along, count, args, kwargs, walltime, worker_walltime) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [apply.applyId, apply.func, apply.along ?? null, apply.count, JSON.stringify(apply.args), JSON.stringify(apply.kwargs), apply.walltime,
        apply.workerWalltime],
    );
    const chunk = 5000;
    for (let i = 0; i < targets.length; i += chunk) {
      const ids: string[] = [], idx: number[] = [], tgt: string[] = [], kw: (string | null)[] = [];
      for (let j = i; j < Math.min(i + chunk, targets.length); j++) {
        ids.push(jobIdOf(apply.applyId, j));
        idx.push(j);
        tgt.push(JSON.stringify(targets[j]));
        const own = ownKwargs?.(j);
        kw.push(own ? JSON.stringify(own) : null);
      }
      await this.db.query(
        `INSERT INTO jobs (job_id, apply_id, idx, target, kwargs)
         SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[])`,
        [ids, ids.map(() => apply.applyId), idx, tgt, kw],
      );
    }
  }

  /**
   * Records a finished job (completed or dead-lettered): its ledger row and the `job_status` cache of its
   * function and target. Idempotent: a notice handled twice writes the same.
   */
  async recordOutcome(m: CompletionMessage): Promise<JobStatus> {
    const status: JobStatus = {
      success: m.status !== "dead", attempts: m.attempt, lastParams: m.kwargs, finishedAt: new Date(m.finished_at).toISOString(),
      jobId: m.job_id, ...(m.reason ? { reason: m.reason } : {}),
    };
    if (parseJobId(m.job_id)) {
      await this.db.query(
        "UPDATE jobs SET outcome = $2, attempts = $3, reason = $4, finished_at = $5 WHERE job_id = $1",
        [m.job_id, status.success ? "completed" : "dead", status.attempts, m.reason ?? null, status.finishedAt],
      );
    }
    await this.db.query(
      `INSERT INTO job_status (func, along, target, success, attempts, last_params, job_id, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (func, along, target) DO UPDATE SET success = EXCLUDED.success, attempts = EXCLUDED.attempts,
         last_params = EXCLUDED.last_params, job_id = EXCLUDED.job_id, finished_at = EXCLUDED.finished_at`,
      [m.func, m.along, JSON.stringify(normaliseTarget(m.id)), status.success, status.attempts, JSON.stringify(m.kwargs ?? {}), m.job_id, status.finishedAt],
    );
    return status;
  }

  /** The latest outcome of every function on every target (the `jobStatus` cache). */
  async latestStatuses(): Promise<{ func: string; target: Target; status: JobStatus }[]> {
    const rows = await this.db.query<{ func: string; target: string; success: boolean; attempts: number; last_params: string | null; job_id: string | null; finished_at: Date | string }>(
      "SELECT func, target, success, attempts, last_params, job_id, finished_at FROM job_status");
    return rows.map((r) => ({
      func: r.func,
      target: JSON.parse(r.target) as Target,
      status: {
        success: r.success, attempts: Number(r.attempts), finishedAt: new Date(r.finished_at).toISOString(),
        lastParams: r.last_params ? (JSON.parse(r.last_params) as Record<string, unknown>) : undefined, jobId: r.job_id ?? undefined,
      },
    }));
  }

  /** Applies in submission order (those named, or all). */
  async applies(applyIds?: string[]): Promise<LedgerApply[]> {
    const rows = await this.db.query<{ apply_id: string; func: string; along: string | null; count: number; args: string; kwargs: string; walltime: number; worker_walltime: number | null }>(
      `SELECT apply_id, func, along, count, args, kwargs, walltime, worker_walltime FROM applies
        WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.apply_id = applies.apply_id) ${applyIds ? "AND apply_id = ANY($1)" : ""}
        ORDER BY submitted_at`, applyIds ? [applyIds] : []);
    return rows.map((r) => ({
      applyId: r.apply_id, func: r.func, along: r.along ?? undefined, count: Number(r.count),
      args: JSON.parse(r.args) as unknown[], kwargs: JSON.parse(r.kwargs) as Record<string, unknown>,
      walltime: Number(r.walltime), workerWalltime: Number(r.worker_walltime ?? r.walltime),
    }));
  }

  /** Counts of an apply's jobs by outcome. */
  async counts(applyId: string): Promise<{ total: number; completed: number; dead: number }> {
    const [r] = await this.db.query<{ total: string; completed: string; dead: string }>(
      `SELECT count(*) AS total, count(*) FILTER (WHERE outcome = 'completed') AS completed, count(*) FILTER (WHERE outcome = 'dead') AS dead
         FROM jobs WHERE apply_id = $1`, [applyId]);
    return { total: Number(r?.total ?? 0), completed: Number(r?.completed ?? 0), dead: Number(r?.dead ?? 0) };
  }

  /** The jobs of an apply that have not finished, in index order. */
  async unfinished(applyId: string): Promise<UnfinishedJob[]> {
    const rows = await this.db.query<{ idx: number; target: string; kwargs: string | null }>(
      "SELECT idx, target, kwargs FROM jobs WHERE apply_id = $1 AND outcome IS NULL ORDER BY idx", [applyId]);
    return rows.map((r) => ({
      index: Number(r.idx), target: JSON.parse(r.target) as Target,
      ...(r.kwargs ? { kwargs: JSON.parse(r.kwargs) as Record<string, unknown> } : {}),
    }));
  }
}
