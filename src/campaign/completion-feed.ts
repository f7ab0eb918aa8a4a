import type { Redis } from "ioredis";
import { errorMessage } from "../errors";
import type { CompletionMessage, QueueSet } from "../queue/queue-set";
import { unrefAlways } from "../queue/keepalive";
import { connectRedis } from "../queue/redis";

export type CompletionListener = (message: CompletionMessage) => void;

/**
 * Every graph on one campaign sees every completion. The completed list is consumed once (by whichever
 * watcher takes a message: that one records it in the database); after recording, the watcher publishes
 * the completion on the campaign's channel, and each graph's feed hands it to its listeners (cache,
 * callbacks, waits). Pub/sub is a notification, not storage: a graph that was disconnected gets a
 * `resync` and re-reads the ledger, which is durable.
 */
export class CompletionFeed {
  private subscriber?: Redis;
  private readonly listeners = new Set<CompletionListener>();
  private readonly resyncListeners = new Set<() => void>();
  private readyOnce = false;

  constructor(private readonly queues: QueueSet, private readonly log: (line: string) => void) {}

  async start(): Promise<this> {
    if (this.subscriber) return this;
    const sub = await connectRedis(this.queues.config.redis, { connectionName: "autocnet-feed" });
    unrefAlways(sub); // a subscription never keeps a script or kernel alive
    this.subscriber = sub;
    sub.on("message", (_channel: string, raw: string) => {
      let message: CompletionMessage;
      try {
        message = JSON.parse(raw) as CompletionMessage;
      } catch (err) {
        this.log(`completion feed: unreadable notice ignored (${errorMessage(err)})`);
        return;
      }
      for (const l of this.listeners) {
        try {
          l(message);
        } catch (err) {
          this.log(`completion listener failed on ${message.job_id}: ${errorMessage(err)}`);
        }
      }
    });
    // ioredis resubscribes after a reconnect; what was published meanwhile is re-read from the ledger
    sub.on("ready", () => {
      if (!this.readyOnce) return;
      for (const l of this.resyncListeners) l();
    });
    await sub.subscribe(this.queues.keys.completionsChannel);
    this.readyOnce = true;
    return this;
  }

  /** Publishes a recorded completion to every graph of the campaign. */
  async publish(message: CompletionMessage): Promise<void> {
    await this.queues.redis.publish(this.queues.keys.completionsChannel, JSON.stringify(message));
  }

  on(listener: CompletionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  get running(): boolean {
    return this.subscriber !== undefined;
  }

  async stop(): Promise<void> {
    const sub = this.subscriber;
    this.subscriber = undefined;
    if (sub) await sub.quit().catch(() => sub.disconnect());
  }
}
