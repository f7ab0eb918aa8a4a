/**
 * Completions that finish in the same tick of the event loop go to Redis together: one script call for
 * the batch, one promise every job of it awaits (jobs can be very short: a promise per job costs).
 * `send` moves the batch on and gives one status per item (undefined: it could not be sent; the entries
 * then stay in working for the sentinel).
 */
export class CompletionBatcher<I, S> {
  private current: { items: I[]; statuses: Promise<(S | undefined)[]>; send: () => void } | undefined;

  constructor(private readonly send: (items: I[]) => Promise<(S | undefined)[] | undefined>) {}

  /** Adds one completion to this tick's batch; its status is `(await statuses)[index]`. */
  add(item: I): { statuses: Promise<(S | undefined)[]>; index: number } {
    let batch = this.current;
    if (!batch) {
      const items: I[] = [];
      let go!: () => void;
      const statuses = new Promise<(S | undefined)[]>((resolve) => {
        go = () => resolve(this.send(items).then((s) => s ?? [], () => []));
      });
      const b = {
        items, statuses, send: () => {
          if (this.current !== b) return; // sent already
          this.current = undefined;
          go();
        },
      };
      batch = this.current = b;
      setImmediate(b.send);
    }
    return { statuses: batch.statuses, index: batch.items.push(item) - 1 };
  }

  /** Sends what was gathered so far now (a worker about to return), and waits for it. */
  async flush(): Promise<void> {
    const batch = this.current;
    if (!batch) return;
    batch.send();
    await batch.statuses;
  }
}
