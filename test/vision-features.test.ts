import { beforeAll, describe, expect, it } from "vitest";
import type { Raster } from "../src/image/raster";
import { extractFeatures, matchFeatures, toUint8 } from "../src/vision/features";
import { estimateHomography } from "../src/vision/homography";
import { loadOpenCv, wasmHeapProbe } from "../src/vision/opencv";
import { makeTexture, renderChip } from "../bench/matching/texture";

// A 256² chip of band-limited texture and the same ground shifted by (12.3, −7.6) px: moving(x + s) = reference(x).
const SHIFT = { x: 12.3, y: -7.6 };
const tex = makeTexture(11, { maxFrequency: 0.35, components: 96 });
const reference = renderChip(tex, { width: 256, height: 256, origin: [500, 500], jacobian: [[1, 0], [0, 1]] }, 1, 1);
const moving = renderChip(
  tex,
  { width: 256, height: 256, origin: [500 - SHIFT.x, 500 - SHIFT.y], jacobian: [[1, 0], [0, 1]] },
  1,
  2,
);

beforeAll(async () => {
  await loadOpenCv();
});

describe("toUint8", () => {
  it("stretches the finite min…max to 0…255, maps NaN to 0 and masks it", () => {
    const r: Raster = { width: 4, height: 1, data: Float32Array.from([10, 20, NaN, 30]) };
    const u = toUint8(r);
    expect(Array.from(u.data)).toEqual([0, 128, 0, 255]);
    expect(Array.from(u.mask)).toEqual([255, 255, 0, 255]);
    expect([u.min, u.max, u.hasNoData]).toEqual([10, 30, true]);
    expect(Array.from(toUint8(r, { min: 0, max: 40 }).data)).toEqual([64, 128, 0, 191]);
  });
});

describe("extractFeatures", () => {
  it("returns ORB, AKAZE (binary) and KAZE (float) keypoints with one descriptor row each", () => {
    const orb = extractFeatures(reference, { method: "orb", nfeatures: 300 });
    expect(orb.keypoints.length).toBeGreaterThan(100);
    expect(orb.keypoints.length).toBeLessThanOrEqual(300);
    expect(orb.descriptors).toBeInstanceOf(Uint8Array);
    expect([orb.descriptorSize, orb.norm]).toEqual([32, "hamming"]);
    expect(orb.descriptors.length).toBe(orb.keypoints.length * 32);
    const k = orb.keypoints[0]!;
    for (const key of ["x", "y", "response", "size", "angle", "octave"] as const) expect(Number.isFinite(k[key])).toBe(true);

    const akaze = extractFeatures(reference, { method: "akaze", threshold: 0.0005 });
    expect(akaze.descriptors).toBeInstanceOf(Uint8Array);
    expect(akaze.descriptorSize).toBe(61);
    expect(akaze.keypoints.length).toBeGreaterThan(20);

    const kaze = extractFeatures(reference, { method: "kaze", nfeatures: 50, threshold: 0.0005 });
    expect(kaze.descriptors).toBeInstanceOf(Float32Array);
    expect([kaze.descriptorSize, kaze.norm]).toEqual([64, "l2"]);
    expect(kaze.keypoints.length).toBe(50);
    expect(kaze.descriptors.length).toBe(50 * 64);
    // The strongest 50, strongest first.
    const responses = kaze.keypoints.map((p) => p.response);
    expect(responses).toEqual([...responses].sort((a, b) => b - a));
  });

  it("finds no keypoints in or next to no-data", () => {
    const holed: Raster = { width: 256, height: 256, data: Float32Array.from(reference.data) };
    for (let y = 0; y < 256; y++) for (let x = 128; x < 256; x++) holed.data[y * 256 + x] = NaN;
    const f = extractFeatures(holed, { method: "orb", nfeatures: 500 });
    expect(f.keypoints.length).toBeGreaterThan(30);
    expect(Math.max(...f.keypoints.map((k) => k.x))).toBeLessThan(128 - 16);
  });
});

describe("matchFeatures", () => {
  it("pairs ORB features of a shifted image consistently with the shift; a homography fit recovers it", () => {
    const a = extractFeatures(reference, { method: "orb", nfeatures: 500 });
    const b = extractFeatures(moving, { method: "orb", nfeatures: 500 });
    const matches = matchFeatures(a, b, { ratio: 0.8 });
    expect(matches.length).toBeGreaterThan(40);
    const good = matches.filter((m) => {
      const p = a.keypoints[m.queryIdx]!;
      const q = b.keypoints[m.trainIdx]!;
      return Math.hypot(q.x - p.x - SHIFT.x, q.y - p.y - SHIFT.y) < 2;
    });
    expect(good.length / matches.length).toBeGreaterThan(0.8);
    for (const m of matches) expect(m.distance).toBeGreaterThanOrEqual(0);

    const crossed = matchFeatures(a, b, { ratio: 0.8, crossCheck: true });
    const key = (m: { queryIdx: number; trainIdx: number }) => `${m.queryIdx}:${m.trainIdx}`;
    const all = new Set(matches.map(key));
    expect(crossed.length).toBeGreaterThan(0.7 * good.length);
    for (const m of crossed) expect(all.has(key(m))).toBe(true);

    const h = estimateHomography(
      matches.map((m) => a.keypoints[m.queryIdx]!),
      matches.map((m) => b.keypoints[m.trainIdx]!),
      { reprojThreshold: 2 },
    )!;
    expect(h).toBeDefined();
    expect(h.matrix[2]!).toBeCloseTo(SHIFT.x, 0);
    expect(h.matrix[5]!).toBeCloseTo(SHIFT.y, 0);
    expect(h.inliers).toBeGreaterThanOrEqual(good.length * 0.9);
  });

  it("works for float (KAZE) descriptors with L2, and a stricter ratio keeps fewer matches", () => {
    const a = extractFeatures(reference, { method: "kaze", threshold: 0.0005 });
    const b = extractFeatures(moving, { method: "kaze", threshold: 0.0005 });
    const loose = matchFeatures(a, b, { ratio: 0.9 });
    const strict = matchFeatures(a, b, { ratio: 0.6 });
    expect(strict.length).toBeLessThan(loose.length);
    const good = strict.filter((m) => {
      const p = a.keypoints[m.queryIdx]!;
      const q = b.keypoints[m.trainIdx]!;
      return Math.hypot(q.x - p.x - SHIFT.x, q.y - p.y - SHIFT.y) < 2;
    });
    expect(good.length / strict.length).toBeGreaterThan(0.9);
  });

  it("leaks nothing on the WASM heap", () => {
    const a = extractFeatures(reference, { method: "orb", nfeatures: 200 });
    const b = extractFeatures(moving, { method: "orb", nfeatures: 200 });
    matchFeatures(a, b, { crossCheck: true });
    const base = wasmHeapProbe();
    for (let i = 0; i < 20; i++) {
      const fa = extractFeatures(reference, { method: i % 2 ? "orb" : "akaze", nfeatures: 200 });
      matchFeatures(fa, fa, { crossCheck: true });
    }
    expect(wasmHeapProbe()).toBe(base);
  });
});

describe("extractFeatures on a featureless raster", () => {
  it("returns no keypoints and empty descriptors of the method's type", async () => {
    await loadOpenCv();
    const flat: Raster = { width: 64, height: 64, data: new Float32Array(64 * 64).fill(7) };
    const kaze = extractFeatures(flat, { method: "kaze" });
    expect(kaze.keypoints).toEqual([]);
    expect(kaze.descriptors).toBeInstanceOf(Float32Array);
    expect(kaze.norm).toBe("l2");
    const orb = extractFeatures(flat, { method: "orb" });
    expect([orb.keypoints.length, orb.descriptors.length, orb.descriptorSize, orb.norm]).toEqual([0, 0, 32, "hamming"]);
    expect(matchFeatures(orb, orb)).toEqual([]);
  });
});
