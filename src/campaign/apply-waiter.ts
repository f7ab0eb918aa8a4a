import { progressReporter } from "../display/progress";
import { applyIdOf } from "../queue/job-id";
import type { ApplyProgress, CompletionMessage } from "../queue/queue-set";

export interface WaitOptions {
  /** Milliseconds; default no limit. */
  timeout?: number;
  /** Called with the counts whenever they change (what progress displays use). */
  onProgress?: (progress: ApplyProgress) => void;
  /** Show a live progress display (a bar in the notebook, or on the terminal). */
  progress?: boolean;
  /** Milliseconds between safety-net reads of the counters when no completion arrives (default 1000). */
  pollMs?: number;
}

/** What a wait needs from its graph. */
export interface WaitSource {
  /** The apply's counters (Redis: the authority while a campaign runs). */
  progress(): Promise<ApplyProgress>;
  /** The apply waited for; none for a reapply (then only the counters and the lists count). */
  applyId?: string;
  /** Whether a watcher of this process records completions (else the counters alone answer). */
  recording: boolean;
  /** Whether the completed list and the watchers' in-flight lists are empty (for a reapply, which has no apply id). */
  drained(): Promise<boolean>;
  /** How many of the apply's jobs the ledger records as finished (completed or dead-lettered). */
  recorded(): Promise<number>;
  /** Re-reads the graph's job status from the ledger (when a notice was missed). */
  refresh(): Promise<void>;
}

/**
 * `wait()` without polling: resolves from the completion feed. Each completion the graph sees (from any
 * watcher of the campaign) wakes the waits; a wait re-reads its apply's counters (one HGETALL) and
 * resolves once every finished job of the apply has been seen by this graph, so `jobStatus` and the
 * callbacks are up to date. A slow poll is only a safety net; if a notice was lost (a disconnect), the
 * graph re-reads the ledger two seconds after the counters say done, and resolves once the ledger has
 * recorded as many outcomes as the counters count. It counts outcomes, never list lengths: a stale entry
 * in some watcher's in-flight list (which a watcher handles after `staleSeconds`) cannot hold it for ever.
 */
export class ApplyWaiter {
  private readonly seen = new Map<string, Set<string>>();
  private readonly wakers = new Set<() => void>();

  /** A completion this graph has handled (cache updated, callbacks run). */
  note(message: CompletionMessage): void {
    const applyId = applyIdOf(message.job_id);
    if (applyId) {
      let s = this.seen.get(applyId);
      if (!s) this.seen.set(applyId, (s = new Set()));
      s.add(message.job_id);
    }
    for (const wake of [...this.wakers]) wake();
  }

  seenCount(applyId: string): number {
    return this.seen.get(applyId)?.size ?? 0;
  }

  async wait(source: WaitSource, options: WaitOptions = {}): Promise<ApplyProgress> {
    const deadline = options.timeout === undefined ? Infinity : Date.now() + options.timeout;
    const pollMs = options.pollMs ?? 1000;
    const bar = options.progress ? progressReporter() : undefined;
    let shown = "";
    let doneSince: number | undefined;
    for (;;) {
      const p = await source.progress();
      const key = `${p.total}/${p.completed}/${p.dead}`;
      if (key !== shown) {
        shown = key;
        options.onProgress?.(p);
        bar?.(p);
      }
      if (p.completed + p.dead >= p.total) {
        if (!source.recording) return p;
        if (source.applyId === undefined ? await source.drained() : this.seenCount(source.applyId) >= p.completed + p.dead) return p;
        doneSince ??= Date.now();
        if (Date.now() - doneSince > 2000 &&
          (source.applyId === undefined ? await source.drained() : (await source.recorded()) >= p.completed + p.dead)) {
          await source.refresh();
          return p;
        }
      }
      if (Date.now() > deadline) {
        throw new Error(`wait: timed out after ${options.timeout} ms with ${p.completed} completed, ${p.dead} dead-lettered of ${p.total}; ` +
          `the jobs are still queued (see ncg.queueLengths() and the sentinel's status)`);
      }
      await this.nextEvent(Math.min(doneSince === undefined ? pollMs : 100, Math.max(1, deadline - Date.now())));
    }
  }

  /** Resolves at the next completion, or after `ms`. */
  private nextEvent(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
}
