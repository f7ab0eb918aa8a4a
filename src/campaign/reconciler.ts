import { jobIdOf } from "../queue/job-id";
import type { QueueSet } from "../queue/queue-set";
import type { JobLedger } from "./job-ledger";
import type { WorkerSupervisor } from "./supervisor";

export interface ReconcileReport {
  applyId: string;
  func: string;
  /** Jobs put back on the processing queue. */
  requeued: number;
  /** Jobs the ledger records as finished (completed or dead-lettered). */
  finished: number;
  /** Unfinished jobs still found in Redis (queued, held or with a completion not yet recorded). */
  queued: number;
}

/**
 * After Redis lost its data (a restart without persistence, a flush), puts back every unfinished job of
 * the recorded applies that is in no queue, under its own job id, with its apply's walltime and args and
 * its own kwargs; with them, the outcomes of the finished ones and the apply's counters, never lower than
 * what Redis already counted. A job finished by a foreign worker is recorded as finished (the watcher
 * writes its outcome like any other), so it is never run again. The ledger says what was submitted and what finished; each apply is judged by its own
 * jobs, so a later apply on the same targets never hides an earlier one's unfinished work.
 */
export async function reconcile(ledger: JobLedger, queues: QueueSet, supervisor: WorkerSupervisor,
  options: { start?: boolean; applyIds?: string[] } = {}): Promise<ReconcileReport[]> {
  const inQueues = await queues.queuedJobIds();
  const report: ReconcileReport[] = [];
  for (const a of await ledger.applies(options.applyIds)) {
    const unfinished = await ledger.unfinished(a.applyId);
    const counts = await ledger.counts(a.applyId);
    const missing = unfinished.filter((j) => !inQueues.has(jobIdOf(a.applyId, j.index)));
    const finished = await ledger.finishedOutcomes(a.applyId);
    if (missing.length > 0 || finished.length > 0) {
      // the outcomes Redis lost come back first, and the counters are only ever raised (never below what
      // Redis counted: completions still in the completed list, say). Also for an apply with no job
      // missing: a finished job whose claim and completion Redis lost (an AOF's last second) is back in
      // processing, and its outcome makes the claim withdraw it instead of running it again.
      await queues.resubmit(a.applyId, a.func, missing, {
        along: a.along, args: a.args, kwargs: a.kwargs, walltime: a.walltime, total: counts.total, completed: counts.completed, dead: counts.dead,
        finished,
      });
    }
    if (missing.length > 0 && options.start !== false) await supervisor.start(missing.length, a.workerWalltime, a.func, a.applyId);
    report.push({ applyId: a.applyId, func: a.func, requeued: missing.length, finished: counts.completed + counts.dead, queued: unfinished.length - missing.length });
  }
  return report;
}
