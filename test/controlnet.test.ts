import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { decodeControlNetwork, encodeControlNetwork, readControlNetwork } from "../src/controlnet";

const FIX = path.join(__dirname, "fixtures", "controlnet");
describe("scratch", () => {
  it("fixtures", async () => {
    for (const [f, v] of [["Alph_VIS.net", 2], ["themis_dayir_VO_arcadia_extract_hand.net", 5]] as const) {
      const file = path.join(FIX, f);
      const net = await readControlNetwork(file);
      console.log(f, net.points.length, JSON.stringify(net.points[0]).slice(0, 400));
      const orig = fs.readFileSync(file);
      const again = Buffer.from(encodeControlNetwork(net, { version: v }));
      console.log(again.length, orig.length, again.equals(orig));
      if (!again.equals(orig)) {
        const i = again.findIndex((b, k) => b !== orig[k]);
        console.log("first diff", i, again.subarray(i - 20, i + 40).toString("latin1"), "|||", orig.subarray(i - 20, i + 40).toString("latin1"));
      }
      expect(decodeControlNetwork(again)).toStrictEqual(net);
    }
  });
});
