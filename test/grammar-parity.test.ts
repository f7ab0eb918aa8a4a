import * as fs from "fs";
import * as path from "path";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseWalltime } from "../src/config/walltime";
import { applyIdOf, jobIdOf, newApplyId } from "../src/queue/job-id";
import { connectRedis } from "../src/queue/redis";
import { testConfig } from "./helpers";

// The Lua transitions carry their own copies of two grammars (they cannot call TypeScript): the SLURM time
// and the job id. These run both sides over the same inputs on a real Redis.
const common = fs.readFileSync(path.join(__dirname, "..", "src", "queue", "commands", "includes", "common.lua"), "utf8");
let redis: Redis;

beforeAll(async () => {
  redis = await connectRedis(testConfig().redis);
});
afterAll(() => redis.disconnect());

async function lua(fn: string, inputs: string[]): Promise<(string | null)[]> {
  const script = `${common}\nlocal out = {}\nfor i, a in ipairs(ARGV) do local v = ${fn}(a); if v == nil then out[i] = '' else out[i] = tostring(v) end end\nreturn out`;
  const res = (await redis.eval(script, 0, ...inputs)) as string[];
  return res.map((v) => (v === "" ? null : v));
}

const tsSeconds = (s: string): string | null => {
  try {
    return String(parseWalltime(s));
  } catch {
    return null;
  }
};

describe("grammar parity: TypeScript and Lua", () => {
  it("SLURM time strings: every form, limits and junk give the same seconds (or both refuse)", async () => {
    const inputs = [
      "10", "0", "00", "1", "59", "60", "90", "1440", "100000",
      "10:30", "1:59", "1:60", "0:00", "0:01", "90:00", "999:59",
      "00:10:00", "01:00:00", "1:2:3", "23:59:59", "24:00:00", "36:00:00", "0:60:00", "0:00:60", "00:00:00", "100:00:00",
      "1-0", "1-00", "2-12", "1-24", "0-0", "0-00:00", "0-00:00:01", "1-00:00", "1-12:30", "1-00:60", "1-00:00:00", "7-23:59:59",
      "1-00:00:60", "1-0:0:0", "3-72:00:00",
      " 10 ", "\t00:05:00\n", "", " ", ":", "10:", ":10", "1::2", "1:2:3:4", "1-", "-1", "1--2", "1-2-3", "-00:10:00",
      "abc", "1.5", "1e3", "+10", "10s", "1h", "00:10:00Z", "1-2:3:4:5", "１０", "0x10", "10 00",
    ];
    const lua_ = await lua("slurm_seconds", inputs);
    const ts = inputs.map(tsSeconds);
    const table = inputs.map((s, i) => ({ s, ts: ts[i], lua: lua_[i] }));
    expect(table.filter((r) => r.ts !== r.lua)).toEqual([]);
    // and the table is not trivially all-null or all-valid
    expect(ts.filter((v) => v !== null).length).toBeGreaterThan(20);
    expect(ts.filter((v) => v === null).length).toBeGreaterThan(20);
    expect(tsSeconds("1-00:00:00")).toBe("86400");
  });

  it("job ids: the apply each belongs to (foreign jobs belong to none)", async () => {
    const a = newApplyId();
    const inputs = [jobIdOf(a, 0), jobIdOf(a, 12345), "f-0123456789ab", "f-123456789012", "f-abcdef", "abc", "abc-", "-1", "a-b-7", "a-b", "x-1-2"];
    const lua_ = await lua("apply_id_of", inputs);
    const ts = inputs.map((s) => applyIdOf(s) ?? null);
    expect(inputs.map((s, i) => ({ s, ts: ts[i], lua: lua_[i] })).filter((r) => r.ts !== r.lua)).toEqual([]);
    expect(ts.slice(0, 4)).toEqual([a, a, null, null]);
  });
});
