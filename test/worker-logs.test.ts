import * as fs from "fs";
import * as path from "path";
import { afterEach, describe, expect, it } from "vitest";
import { NetworkCandidateGraph } from "../src/graph/graph";
import { FIXTURE_JOBS, testConfig } from "./helpers";

// Issue 13 item 4: where did my output go? Local workers write stdout and stderr to cluster_log_dir
// (default .autocnet/logs/ beside the config); what a job prints is prefixed with its job id; ncg.logs(id)
// returns the lines of its attempts, found through its lineage (worker and task of each claim).

const LOGGING_JOBS = path.join(__dirname, "fixtures", "logging-jobs.cjs");
let ncg: NetworkCandidateGraph | undefined;
afterEach(async () => {
  if (ncg) {
    await ncg.clearQueues().catch(() => {});
    await ncg.close();
  }
  ncg = undefined;
});

describe("worker logs", () => {
  it("a job's console.log, stderr, timer output and ctx.log reach ncg.logs(id), per attempt, and no other job's lines", async () => {
    const config = testConfig({ cluster: { concurrency: 2, retry_backoff: 0 }, jobs: [FIXTURE_JOBS, LOGGING_JOBS] });
    ncg = await NetworkCandidateGraph.connect(config, { log: () => {} });
    const job = await ncg.apply("chatty", { on: [11, 12, 13], kwargs: { failFirst: true } });
    expect(await job.wait()).toMatchObject({ total: 3, completed: 3, dead: 0 });
    const id = job.jobId(0);
    const logs = await ncg.logs(id);
    // the default directory: .autocnet/logs beside the config file
    const dir = path.join(path.dirname(config.source!), ".autocnet", "logs");
    expect(logs.attempts.map((a) => a.attempt)).toEqual([1, 2]);
    for (const a of logs.attempts) {
      expect(a.files).toHaveLength(1);
      expect(path.dirname(a.files[0])).toBe(dir);
      const prefix = `[worker ${a.worker}] ${id}: `;
      // every way the job wrote, each line prefixed with its job id
      for (const said of [`printed by ${id} on attempt ${a.attempt}`, `ctx.log of ${id} on attempt ${a.attempt}`, "two lines", `from ${id}`, `a timer of ${id}`]) {
        expect(a.lines).toContain(prefix + said);
      }
    }
    // the first attempt's failure, as its worker logged it
    expect(logs.attempts[0].lines.some((l) => l.includes(`${id} attempt 1 failed (exception: first attempt of ${id} fails)`))).toBe(true);
    // nothing of the other jobs, though workers ran them too
    for (const other of [job.jobId(1), job.jobId(2)]) expect(logs.lines.join("\n")).not.toContain(other);
    // the files hold the other jobs' lines (the filter is what kept them out)
    const all = logs.attempts.flatMap((a) => a.files).concat(fs.readdirSync(dir).map((f) => path.join(dir, f)));
    expect([...new Set(all)].map((f) => fs.readFileSync(f, "utf8")).join("")).toContain(`printed by ${job.jobId(1)}`);
    // the lineage's completed event carries the job's return value
    const done = (await ncg.lineage(id)).events.find((e) => e.e === "completed");
    expect(done).toMatchObject({ a: 2, result: { said: id } });
    expect(String(logs)).toContain(`logs of job ${id}: 2 attempt(s)`);
  });
});
