/**
 * `npm run bench:matching [-- ARGS]`: the chip benchmark (main.ts), then the campaign benchmark (campaign.ts), each
 * given the same arguments (each ignores the other's); `--json FILE` writes FILE (chips) and FILE with `.campaign`
 * before its extension (campaign). Exits non-zero if either does.
 */
import { spawnSync } from "node:child_process";
import path from "node:path";

const args = process.argv.slice(2);
const json = args.indexOf("--json");
const campaignArgs = [...args];
if (json >= 0 && args[json + 1]) {
  const f = args[json + 1]!;
  const ext = path.extname(f);
  campaignArgs[json + 1] = `${f.slice(0, f.length - ext.length)}.campaign${ext || ".json"}`;
}
let status = 0;
for (const [script, argv] of [["main.js", args], ["campaign.js", campaignArgs]] as const) {
  const r = spawnSync(process.execPath, [path.join(__dirname, script), ...argv], { stdio: "inherit" });
  if (r.status !== 0) status = r.status ?? 1;
  if (script === "main.js") console.log("");
}
process.exit(status);
