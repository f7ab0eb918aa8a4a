import { describe, expect, it } from "vitest";
import { formatWalltime, parseWalltime } from "../src/config/walltime";
import { WalltimeError } from "../src/errors";

describe("parseWalltime: every SLURM --time form", () => {
  it.each([
    ["30", 30 * 60],                       // MM
    ["90", 90 * 60],                       // MM past an hour
    ["05:30", 5 * 60 + 30],                // MM:SS
    ["01:02:03", 3723],                    // HH:MM:SS
    ["36:00:00", 36 * 3600],               // HH:MM:SS past a day: AutoCNet wrapped this
    ["1-00", 86400],                       // D-HH
    ["2-12", 2 * 86400 + 12 * 3600],       // D-HH
    ["1-02:30", 86400 + 2 * 3600 + 30 * 60], // D-HH:MM
    ["1-00:00:00", 86400],                 // D-HH:MM:SS: exactly 24 h
    ["7-23:59:59", 7 * 86400 + 86399],     // a week
    [" 00:10:00 ", 600],                   // surrounding blanks
  ])("%s -> %i s", (text, seconds) => {
    expect(parseWalltime(text)).toBe(seconds);
  });

  it("takes numbers as seconds", () => {
    expect(parseWalltime(90)).toBe(90);
  });

  it.each(["", "abc", "1:2:3:4", "10:61", "01:60:00", "1-2-3", "-5", "1.5", "00:00:00", "1-", "1-00:60", "::"])(
    "rejects %j with a message that names the forms",
    (text) => {
      expect(() => parseWalltime(text)).toThrow(WalltimeError);
      expect(() => parseWalltime(text)).toThrow(/MM, MM:SS, HH:MM:SS|zero/);
    },
  );

  it("rejects non-positive numbers and other types", () => {
    expect(() => parseWalltime(0)).toThrow(/positive/);
    expect(() => parseWalltime(Number.NaN)).toThrow(/positive/);
    expect(() => parseWalltime({} as unknown as string)).toThrow(/SLURM time string/);
  });

  it("names what it was parsing", () => {
    expect(() => parseWalltime("soon", "cluster.walltime")).toThrow(/^cluster\.walltime: "soon"/);
  });

  it("formats back to SLURM's form, round-tripping", () => {
    for (const s of [59, 3600, 86399, 86400, 129600, 7 * 86400 + 1]) expect(parseWalltime(formatWalltime(s))).toBe(s);
    expect(formatWalltime(129600)).toBe("1-12:00:00");
  });
});
