import { describe, expect, it } from "vitest";
import { cvError, loadOpenCv, wasmHeapBytes, wasmHeapProbe, withMats } from "../src/vision/opencv";

describe("loadOpenCv", () => {
  it("loads once, is awaitable (no longer a thenable) and leaves the process's error handlers as they were", async () => {
    const events = ["unhandledRejection", "uncaughtException"] as const;
    const before = events.map((e) => process.listeners(e as "unhandledRejection").slice());
    const [a, b] = await Promise.all([loadOpenCv(), loadOpenCv()]);
    expect(a).toBe(b);
    expect(await loadOpenCv()).toBe(a);
    expect((a as unknown as { then?: unknown }).then).toBeUndefined();
    expect(typeof a.Mat).toBe("function");
    events.forEach((e, i) => expect(process.listeners(e as "unhandledRejection")).toEqual(before[i]));
  });

  it("withMats deletes what it tracked, on return and on throw, and turns OpenCV's numeric exceptions into Errors", async () => {
    const cv = await loadOpenCv();
    let kept: InstanceType<typeof cv.Mat> | undefined;
    const sum = withMats((track) => {
      const m = track(cv.matFromArray(2, 2, cv.CV_32F, [1, 2, 3, 4]));
      kept = m;
      return m.data32F.reduce((s, v) => s + v, 0);
    });
    expect(sum).toBe(10);
    expect(kept!.isDeleted()).toBe(true);

    let inner: InstanceType<typeof cv.Mat> | undefined;
    let caught: unknown;
    try {
      withMats((track) => {
        inner = track(new cv.Mat(4, 8, cv.CV_32F));
        const other = track(new cv.Mat(8, 4, cv.CV_32F));
        const out = track(new cv.Mat());
        cv.matchTemplate(inner, other, out, cv.TM_CCOEFF_NORMED); // neither fits in the other: OpenCV throws a number
      });
    } catch (err) {
      caught = err;
    }
    expect(inner!.isDeleted()).toBe(true);
    expect(caught).toBeInstanceOf(Error);
    expect((caught as Error).message).toMatch(/OpenCV.*matchTemplate/);
    expect(cvError(new Error("x"))).toBeInstanceOf(Error);
  });

  it("the heap probe sees a deliberate leak of small Mats, and is back to baseline once they are deleted", async () => {
    const cv = await loadOpenCv();
    const base = wasmHeapProbe();
    for (let i = 0; i < 2000; i++) withMats((track) => track(new cv.Mat(31, 31, cv.CV_32F)));
    expect(wasmHeapProbe()).toBe(base);
    const leaked = Array.from({ length: 1000 }, () => new cv.Mat(8, 8, cv.CV_8U));
    expect(wasmHeapProbe()).toBeGreaterThan(base);
    for (const m of leaked) m.delete();
    expect(wasmHeapProbe()).toBe(base);
    expect(wasmHeapBytes()).toBeGreaterThanOrEqual(16 * 1024 * 1024);
  });
});
