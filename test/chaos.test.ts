import { describe, expect, it } from "vitest";
import { formatReport, PRESETS, runChaos } from "../bench/chaos/run";
import { missing, postgresBin, which } from "./private-servers";

// The chaos suite (npm run chaos; docs/reliability.md), small: 300 jobs writing one row per execution on a
// private redis-server (AOF) and a private PostgreSQL, while workers are killed -9 and paused past their
// lease, Redis is killed -9 and restarted from its AOF (intact, then cut back a second) with
// ncg.reconcile(), connections are cut, PostgreSQL restarts, a job ignores its abort signal, 100 poison
// messages are pushed raw and a second graph process watches the same campaign.
const skip = missing({ "redis-server": which("redis-server"), "PostgreSQL's initdb": postgresBin() });

describe("chaos", () => {
  it.skipIf(!!skip)(`no job lost, poison accounted for, the loops alive ${skip}`, async () => {
    const lines: string[] = [];
    const report = await runChaos({ ...PRESETS.test, log: (l) => lines.push(l) });
    const text = formatReport(report, "test");
    console.log(text);
    expect(report.lost, `${text}\n${lines.join("\n")}`).toBe(0);
    expect(report.completedWithoutRow).toBe(0);
    expect(report.jobs).toBe(PRESETS.test.jobs + PRESETS.test.stubborn);
    expect(report.poison.unaccounted).toEqual([]);
    expect(report.poison.accounted).toBe(report.poison.pushed);
    expect(report.faults.killedFraction).toBeGreaterThanOrEqual(0.3);
    expect(report.faults.redisRestarts).toBe(2);
    expect(report.faults.reconciled).toBeGreaterThan(0); // the apply the truncated AOF lost was put back
    expect(report.loops.sentinel.running && report.loops.watcher.running).toBe(true);
    expect(report.loops.second?.sentinel.running && report.loops.second?.watcher.running).toBe(true);
    expect(report.loops.idleSweepsPerSecond).toBeLessThanOrEqual(3); // never spins
    expect(report.ok, `${text}\n${lines.join("\n")}`).toBe(true);
  }, 200_000);
});
