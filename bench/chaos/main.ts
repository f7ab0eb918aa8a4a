/**
 * npm run chaos [-- --quick] [-- --json FILE]
 *
 * The chaos suite (docs/reliability.md): thousands of jobs writing one row per execution while workers are
 * killed -9 and paused, Redis is killed -9 and restarted from its AOF, connections are cut, the database
 * restarts, poison is pushed and a second graph watches. `--quick` (a few hundred jobs, under 2 minutes) is
 * what CI runs. Exits non-zero if a job is lost, poison is unaccounted for, a loop died or the run did not drain.
 */
import * as fs from "fs";
import { formatReport, PRESETS, runChaos } from "./run";

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const preset = args.includes("--quick") ? "quick" : args.includes("--test") ? "test" : "full";
  const jsonIdx = args.indexOf("--json");
  const jsonFile = jsonIdx >= 0 ? args[jsonIdx + 1] : undefined;
  if (jsonIdx >= 0 && !jsonFile) throw new Error("--json needs a file name");
  const report = await runChaos(PRESETS[preset]);
  console.log(formatReport(report, preset));
  if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify({ preset, options: PRESETS[preset], ...report }, null, 2));
  process.exit(report.ok ? 0 : 1); // nothing of the run is left open; exit at once
}

main().catch((err) => {
  console.error(`chaos: ${(err as Error).stack ?? err}`);
  process.exit(2);
});
