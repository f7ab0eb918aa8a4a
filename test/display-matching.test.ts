import { inflateSync } from "zlib";
import { describe, expect, it } from "vitest";
import { chipAround, encodePng, footprintMap, imageView, matchesView, measureChipsView, residualStats, residualView } from "../src/display";
import type { Raster } from "../src/image/raster";

const ramp = (w: number, h: number): Raster => {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data[y * w + x] = x + 10 * y;
  return { width: w, height: h, data };
};

/** Decodes what encodePng writes (8-bit, filter 0 rows): the test's own reader, independent of the encoder's code. */
function decodePng(png: Buffer): { width: number; height: number; colorType: number; pixels: Buffer } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  let off = 8, width = 0, height = 0, colorType = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off), type = png.toString("ascii", off + 4, off + 8);
    const body = png.subarray(off + 8, off + 8 + len);
    if (type === "IHDR") { width = body.readUInt32BE(0); height = body.readUInt32BE(4); colorType = body[9]!; }
    if (type === "IDAT") idat.push(body);
    off += 12 + len;
  }
  return { width, height, colorType, pixels: inflateSync(Buffer.concat(idat)) };
}

describe("matching displays", () => {
  it("encodePng: grey + alpha rows, stretched between min and max, NaN transparent", () => {
    const r: Raster = { width: 3, height: 2, data: Float32Array.from([0, 50, 100, NaN, 25, 200]) };
    const d = decodePng(encodePng(r, { min: 0, max: 100 }));
    expect([d.width, d.height, d.colorType]).toEqual([3, 2, 4]);
    // each row: filter byte, then (grey, alpha) per pixel
    expect([...d.pixels]).toEqual([0, 0, 255, 128, 255, 255, 255, 0, 0, 0, 64, 255, 255, 255]);
  });

  it("imageView draws every marker at its pixel centre over the whole image", () => {
    const v = imageView(ramp(40, 30), { markers: [{ x: 0, y: 0 }, { x: 12.5, y: 7.25, title: "kp 1" }], title: "frame" });
    const circles = [...v.html.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    expect(circles).toEqual([[0, 0], [12.5, 7.25]]);
    expect(v.html).toContain('viewBox="-0.5 -0.5 40 30"');
    expect(v.text).toBe("frame: 40 × 30 pixels, 2 markers");
  });

  it("matchesView: a line per match, coloured by the outlier filter, the second image offset to the right", () => {
    const a = ramp(50, 40), b = ramp(60, 40);
    const v = matchesView(a, b, [{ ax: 1, ay: 2, bx: 3, by: 4, inlier: true }, { ax: 5, ay: 6, bx: 7, by: 8, inlier: false }, { ax: 9, ay: 9, bx: 9, by: 9 }]);
    const lines = [...v.html.matchAll(/<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)" stroke="([^"]+)"/g)].map((m) => m.slice(1));
    const gap = Math.round(60 * 0.04);
    expect(lines).toEqual([
      ["1", "2", String(3 + 50 + gap), "4", "#59c36a"], ["5", "6", String(7 + 50 + gap), "8", "#e15759"], ["9", "9", String(9 + 50 + gap), "9", "#bbbbbb"],
    ]);
    expect(v.text).toBe("Matches: 3 matches: 1 inliers (green), 1 outliers (red)");
  });

  it("measure chips: windows around each measure (NaN outside the image), the cross at the sub-pixel position, the surface's peak", () => {
    const r = ramp(20, 20);
    const { chip, x0, y0 } = chipAround(r, 1.4, 18.6, 5);
    expect([x0, y0]).toEqual([-1, 17]);
    expect(chip.data[0]).toBeNaN();                       // (−1, 17) is outside
    expect(chip.data[1 * 5 + 1]).toBe(0 + 10 * 18);       // (0, 18)
    const surface: Raster = { width: 5, height: 5, data: new Float32Array(25).fill(0.1) };
    surface.data[2 * 5 + 3] = 0.97;
    const v = measureChipsView([{ title: "ref", raster: r, x: 10, y: 10 }, { title: "moving", raster: r, x: 11.25, y: 9.5, apriori: { x: 12, y: 9 } }],
      { size: 9, surface });
    // chip of the moving measure starts at (round(11.25) − 4, round(9.5) − 4) = (7, 6): the cross is at (4.25, 3.5)
    expect(v.html).toContain("M3.125,3.5H5.375M4.25,2.375V4.625");
    expect(v.text).toContain("moving: (11.250, 9.500)");
    expect(v.text).toContain("peak 0.970 at (3, 2)");
  });

  it("residualView: RMS and max from the vectors, an arrow per measure", () => {
    const rows = [{ x: 10, y: 10, dx: 0.03, dy: -0.04 }, { x: 50, y: 20, dx: 0, dy: 0.1 }];
    expect(residualStats(rows)).toEqual({ n: 2, rms: Math.sqrt((0.0025 + 0.01) / 2), max: 0.1 });
    const v = residualView(rows, { imageWidth: 64, imageHeight: 32 });
    expect(v.text).toBe(`Residuals against ground truth: 2 measures, RMS ${Math.sqrt(0.00625).toFixed(3)} px, max 0.100 px`);
    expect((v.html.match(/aria-label="arrow"/g) ?? []).length).toBe(1);
    expect((v.html.match(/<path[^>]*d="M/g) ?? []).length).toBeGreaterThanOrEqual(2);
  });

  it("footprintMap draws points over the footprints and counts the registered ones", () => {
    const node = { id: 1, name: "a", footprint: [[[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]] as [number, number][][][], jobStatus: {} };
    const v = footprintMap([node], [], { points: [{ lon: 0.2, lat: 0.3, status: "registered" }, { lon: 0.6, lat: 0.5 }] });
    expect(v.text).toBe("Footprints and overlaps: 1 footprints, 0 overlaps, 2 points (1 registered)");
    expect((v.html.match(/<circle/g) ?? []).length).toBe(2);
  });
});
