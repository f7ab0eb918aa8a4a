import { Redis } from "ioredis";
import { describe, expect, it } from "vitest";
import { refWhileBusy } from "../src/queue/keepalive";
import { startRedis } from "./private-servers";
import { until } from "./helpers";

// Found by the chaos suite (npm run chaos): while Redis was down, every command a graph sent called ref()
// on ioredis's dead socket, and Node queues a 'connect' listener per call on a socket without a handle —
// "MaxListenersExceededWarning: 11 connect listeners added to [Socket]" in the user's terminal or notebook.
describe("a graph's Redis socket, ref'd only while busy", () => {
  it("while Redis is down, commands add no listeners to the dead socket (no MaxListenersExceededWarning)", async () => {
    const server = await startRedis();
    const client = new Redis({ port: server.port, host: "127.0.0.1", maxRetriesPerRequest: null, retryStrategy: () => 3000 }); // the dead socket stays current for 3 s
    client.on("error", () => {});
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on("warning", onWarning);
    try {
      refWhileBusy(client);
      expect(await client.ping()).toBe("PONG");
      const socket = (client as unknown as { stream: NodeJS.EventEmitter & { destroyed: boolean } }).stream;
      await server.stop();
      await until("the client to see the server gone", () => socket.destroyed, 10_000);
      expect((client as unknown as { stream: unknown }).stream).toBe(socket); // not reconnecting yet
      for (let i = 0; i < 30; i++) void client.get("x").catch(() => null); // queued until Redis is back
      await new Promise((r) => setTimeout(r, 100));
      expect(socket.listenerCount("connect")).toBe(0);
      expect(warnings).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
      client.disconnect();
    }
  });
});
