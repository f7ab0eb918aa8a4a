/**
 * A worker's job slots: at most `concurrency` job functions execute at once. A job claimed ahead waits
 * here for a slot, first come first served; a job that waits too long (behind a job that stalled) can be
 * taken out of the line and put back for another worker. Knows nothing of Redis: the caller decides what
 * happens to a job that leaves the line.
 */
export class Slots<T> {
  /** Job functions executing now. */
  private busy = 0;
  private readonly line: { owner: T; since: number; resolve: (got: boolean) => void }[] = [];

  constructor(readonly concurrency: number) {}

  /** Takes a free slot at once if there is one (no promise: most jobs of a fast worker find one). */
  tryTake(): boolean {
    if (this.busy >= this.concurrency) return false;
    this.busy++;
    return true;
  }

  /** Waits in line for a slot: true when it has one, false if it was taken out of the line instead. */
  wait(owner: T, since = Date.now()): Promise<boolean> {
    return new Promise((resolve) => this.line.push({ owner, since, resolve }));
  }

  /** A job function returned: its slot goes to the first in line, or becomes free. */
  release(): void {
    const next = this.line.shift();
    if (next) next.resolve(true);
    else this.busy--;
  }

  /**
   * Takes out of the line those that have waited `ms` or longer (and that `eligible` accepts); each is
   * handed to `putBack`, and its wait resolves false once `putBack`'s promise settles.
   */
  takeOutWaitingLongerThan(ms: number, eligible: (owner: T) => boolean, putBack: (owner: T) => Promise<unknown>): void {
    const now = Date.now();
    for (let i = this.line.length - 1; i >= 0; i--) {
      const w = this.line[i];
      if (now - w.since < ms || !eligible(w.owner)) continue;
      this.line.splice(i, 1);
      void putBack(w.owner).finally(() => w.resolve(false));
    }
  }

  /** Empties the line: every wait resolves false (the caller has put those jobs back already). */
  clearLine(): void {
    for (const w of this.line.splice(0)) w.resolve(false);
  }
}
