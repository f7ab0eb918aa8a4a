import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { openQueues } from "../src/worker/connection";
import { openPostgres } from "../src/database";
import { testConfig } from "./helpers";

describe("clear errors for what cannot be reached or loaded", () => {
  it("an unreachable database: one line with where and what to do (no password shown)", async () => {
    const err = await openPostgres("postgresql://someone:secret@127.0.0.1:1/campaign").catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^cannot reach the database at postgresql:\/\/someone:\*\*\*@127\.0\.0\.1:1\/campaign \(.+\); start PostgreSQL or fix database: in the config$/);
    expect((err as Error).message).not.toContain("secret");
  });

  it("a job module that cannot be loaded names the module", async () => {
    const missing = path.join(os.tmpdir(), "acn-no-such-module.js");
    await expect(openQueues(testConfig({ jobs: [missing] }))).rejects.toThrow(`jobs: cannot load job module ${missing}:`);
    const empty = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "acn-mod-")), "empty.cjs");
    fs.writeFileSync(empty, "module.exports = { nothing: 1 };");
    await expect(openQueues(testConfig({ jobs: [empty] }))).rejects.toThrow(`jobs: module ${empty} exports neither register(registry) nor jobs: {name: fn}`);
  });
});
