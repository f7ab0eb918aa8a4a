/**
 * A second graph process on the chaos campaign: connects with the same config file and watches (its own
 * sentinel — standing by while the first holds the sweep lock — its own watcher, the completion feed).
 * Driven over the IPC channel of `child_process.fork`: {cmd: "status"} → {sentinel, watcher, seen};
 * {cmd: "close"} → closes and exits.
 */
import { NetworkCandidateGraph } from "../../src";

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath || !process.send) throw new Error("usage: fork(second-graph.js, [config.yml]) with an IPC channel");
  const logs: string[] = [];
  const ncg = await NetworkCandidateGraph.connect(configPath, { log: (l) => { if (logs.length < 200) logs.push(l); } });
  let seen = 0;
  for (const func of ["chaos_write", "chaos_stubborn"]) ncg.onCompletion(func, () => { seen++; });
  // the IPC channel keeps this process alive; an idle graph holds nothing open
  process.on("message", (m: { cmd?: string }) => {
    void (async () => {
      if (m.cmd === "status") {
        process.send!({ sentinel: ncg.sentinel.status(), watcher: ncg.watcher.status(), seen, logs: logs.slice(-20) });
      } else if (m.cmd === "close") {
        await ncg.close();
        process.send!({ closed: true }, () => process.exit(0));
      }
    })().catch((err) => process.send!({ error: String(err) }));
  });
  // the chaos run that started this process is gone (killed, crashed): stop too
  process.on("disconnect", () => void ncg.close().finally(() => process.exit(0)));
  process.send({ ready: true });
}

main().catch((err) => {
  console.error(`second graph: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
