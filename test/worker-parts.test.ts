import { describe, expect, it } from "vitest";
import { CompletionBatcher } from "../src/worker/completion-batch";
import { Slots } from "../src/worker/slots";

describe("Slots", () => {
  it("gives at most `concurrency` slots at once, then serves the line first come first served", async () => {
    const slots = new Slots<string>(2);
    expect([slots.tryTake(), slots.tryTake(), slots.tryTake()]).toEqual([true, true, false]);
    const order: string[] = [];
    const a = slots.wait("a").then((got) => order.push(`a:${got}`));
    const b = slots.wait("b").then((got) => order.push(`b:${got}`));
    slots.release();
    await a;
    expect(order).toEqual(["a:true"]);
    slots.release();
    await b;
    expect(order).toEqual(["a:true", "b:true"]);
    // both slots are held again (by a and b); two releases free them, a third take succeeds
    slots.release();
    slots.release();
    expect([slots.tryTake(), slots.tryTake(), slots.tryTake()]).toEqual([true, true, false]);
  });

  it("takes out of the line only those that waited long enough and are eligible; their wait ends false after the put-back", async () => {
    const slots = new Slots<{ name: string; ok: boolean }>(1);
    expect(slots.tryTake()).toBe(true);
    const old = { name: "old", ok: true }, young = { name: "young", ok: true }, ineligible = { name: "ineligible", ok: false };
    const results: Record<string, boolean> = {};
    const waits = [
      slots.wait(old, Date.now() - 5000).then((g) => (results.old = g)),
      slots.wait(young, Date.now()).then((g) => (results.young = g)),
      slots.wait(ineligible, Date.now() - 5000).then((g) => (results.ineligible = g)),
    ];
    const putBack: string[] = [];
    let finishPutBack!: () => void;
    slots.takeOutWaitingLongerThan(1000, (o) => o.ok, (o) => {
      putBack.push(o.name);
      return new Promise<void>((r) => (finishPutBack = r));
    });
    expect(putBack).toEqual(["old"]);
    await Promise.resolve();
    expect(results).toEqual({}); // not before the put-back settled
    finishPutBack();
    await waits[0];
    expect(results).toEqual({ old: false });
    slots.release(); // the slot goes to the next in line: young
    await waits[1];
    expect(results.young).toBe(true);
    slots.clearLine();
    await waits[2];
    expect(results.ineligible).toBe(false);
  });
});

describe("CompletionBatcher", () => {
  it("sends what finishes in one tick as one batch, each item reading its own status", async () => {
    const calls: number[][] = [];
    const batcher = new CompletionBatcher<number, string>(async (items) => {
      calls.push([...items]);
      return items.map((i) => `done ${i}`);
    });
    const handles = [1, 2, 3].map((i) => batcher.add(i));
    expect(calls).toEqual([]); // not sent within the tick
    const statuses = await Promise.all(handles.map(async (h) => (await h.statuses)[h.index]));
    expect(statuses).toEqual(["done 1", "done 2", "done 3"]);
    expect(calls).toEqual([[1, 2, 3]]);
    const later = batcher.add(4);
    expect((await later.statuses)[later.index]).toBe("done 4");
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it("flush sends at once and only once; a send that fails or gives nothing leaves every status undefined", async () => {
    let sends = 0;
    const batcher = new CompletionBatcher<string, string>(async () => {
      sends++;
      if (sends === 1) return undefined;
      throw new Error("Redis gone");
    });
    const a = batcher.add("a");
    await batcher.flush();
    expect(sends).toBe(1);
    expect((await a.statuses)[a.index]).toBeUndefined();
    await new Promise((r) => setImmediate(r)); // the tick's own send finds the batch already sent
    expect(sends).toBe(1);
    const b = batcher.add("b");
    expect((await b.statuses)[b.index]).toBeUndefined();
    expect(sends).toBe(2);
    await batcher.flush(); // nothing gathered: nothing sent
    expect(sends).toBe(2);
  });
});
