import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fromFile } from "geotiff";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { area, intersection } from "../src/geometry/polygons";
import { AffineGeoreference, type LonLat, type PixelPoint } from "../src/image/georeference";
import { storedGeoTransform, writeGeoTiff } from "../src/image/geotiff-write";
import { createRaster, type Raster } from "../src/image/raster";
import {
  applyAffine,
  campaignGround,
  campaignLayout,
  defaultCampaignDir,
  frameCorners,
  invertAffine,
  layoutFrames,
  overlapFraction,
  renderFrame,
  resolveCampaignOptions,
  syntheticCampaign,
  syntheticGround,
  TangentFrame,
  trueGround,
  truePixel,
  type SyntheticCampaign,
  type SyntheticCampaignOptions,
} from "../src/synthetic";

const HAVE_GDAL = ["gdalinfo", "gdallocationinfo"].every((cmd) => spawnSync(cmd, ["--version"]).status === 0);
/** Appended to the names of the tests that need GDAL, so a skipped run says why. */
const NEEDS_GDAL = HAVE_GDAL ? "" : " [SKIPPED: GDAL not installed (gdalinfo/gdallocationinfo not on PATH); apt-get install gdal-bin]";
const MOON = 1_737_400;

const tmpDirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "acn-synthetic-"));
  tmpDirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

function gdalinfo(file: string): { size: [number, number]; geoTransform: number[]; coordinateSystem: { wkt: string }; bands: { noDataValue?: number | string; type: string }[] } {
  return JSON.parse(execFileSync("gdalinfo", ["-json", file], { encoding: "utf8" }));
}

/** Values GDAL reads at pixels (x, y) (GDAL pixel/line = our x, y for whole pixels), one gdallocationinfo run. */
function gdalValues(file: string, points: PixelPoint[], geoloc = false): string[] {
  const input = points.map((p) => `${p.x} ${p.y}`).join("\n") + "\n";
  const out = execFileSync("gdallocationinfo", ["-valonly", ...(geoloc ? ["-geoloc"] : []), file], { input, encoding: "utf8" });
  return out.trim().split("\n");
}

async function readTiff(file: string) {
  const tiff = await fromFile(file);
  const image = await tiff.getImage();
  const [band] = (await image.readRasters()) as unknown as ArrayLike<number>[];
  return { image, data: band! };
}

function expectGeoTransform(actual: number[], expected: readonly number[], tol = 1e-9) {
  expect(actual).toHaveLength(6);
  for (let i = 0; i < 6; i++) expect(Math.abs(actual[i]! - expected[i]!), `geoTransform[${i}] ${actual[i]} vs ${expected[i]}`).toBeLessThanOrEqual(tol);
}

describe("writeGeoTiff", () => {
  // A rotated, slightly sheared map near the campaign's ground, as a-priori georeferences are.
  const rotated = new AffineGeoreference([0.0033, 0.00021, 140.01, 0.00019, -0.0032, -4.98], MOON);
  const raster = createRaster(13, 7);
  for (let i = 0; i < raster.data.length; i++) raster.data[i] = (i * 37) % 101 - 20.25;
  raster.data[2 * 13 + 5] = NaN;

  it(`float32, rotated: GDAL reads the size, our geotransform, the sphere, nodata and every value${NEEDS_GDAL}`, async () => {
    if (!HAVE_GDAL) return;
    const file = path.join(tmpDir(), "rot.tif");
    await writeGeoTiff(file, raster, rotated, { targetName: "Moon" });
    const info = gdalinfo(file);
    expect(info.size).toEqual([13, 7]);
    expectGeoTransform(info.geoTransform, rotated.toGdalGeoTransform());
    expect(info.coordinateSystem.wkt).toMatch(/^GEOGCRS\["Moon"/);
    expect(info.coordinateSystem.wkt).toMatch(/ELLIPSOID\["Moon",1737400,0[,\]]/); // a sphere: inverse flattening 0
    expect(info.coordinateSystem.wkt).toMatch(/ANGLEUNIT\["degree"/);
    expect(String(info.bands[0]!.noDataValue)).toBe("NaN");
    expect(info.bands[0]!.type).toBe("Float32");
    const all: PixelPoint[] = [];
    for (let y = 0; y < 7; y++) for (let x = 0; x < 13; x++) all.push({ x, y });
    const values = gdalValues(file, all);
    all.forEach((p, i) => {
      const v = raster.data[p.y * 13 + p.x]!;
      if (Number.isNaN(v)) expect(values[i]).toBe("nan");
      else expect(Number(values[i]), `pixel ${p.x},${p.y}`).toBe(v);
    });
    // The pixel convention end to end: the ground position of our pixel centre (x, y), looked up by GDAL in
    // lon/lat, is pixel (x, y). A half-pixel slip would land on a neighbour at one of these.
    const probes = [{ x: 0, y: 0 }, { x: 12, y: 0 }, { x: 12, y: 6 }, { x: 0, y: 6 }, { x: 7, y: 3 }];
    const byGround = gdalValues(file, probes.map((p) => { const g = rotated.pixelToGround(p.x, p.y); return { x: g.lon, y: g.lat }; }), true);
    probes.forEach((p, i) => expect(Number(byGround[i])).toBe(raster.data[p.y * 13 + p.x]));
  });

  it("float32, rotated: the geotiff package reads back the values, ModelTransformation and the sphere", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "rot.tif");
    await writeGeoTiff(file, raster, rotated);
    expect(fs.readdirSync(dir)).toEqual(["rot.tif"]); // the temporary file was renamed, not left behind
    const { image, data } = await readTiff(file);
    expect([image.getWidth(), image.getHeight()]).toEqual([13, 7]);
    expect(Array.from(data)).toEqual(Array.from(raster.data));
    expect(image.fileDirectory.getValue("ModelTransformation")).toBeDefined();
    expect(storedGeoTransform(image)).toEqual(rotated.toGdalGeoTransform());
    const keys = image.getGeoKeys()!;
    expect(keys.GeogSemiMajorAxisGeoKey).toBe(MOON);
    expect(keys.GeogSemiMinorAxisGeoKey).toBe(MOON);
    expect(keys.GTRasterTypeGeoKey).toBe(1); // PixelIsArea
    expect(keys.GeographicTypeGeoKey).toBe(32767); // user-defined
    expect(keys.GeogAngularUnitsGeoKey).toBe(9102); // degree
  });

  it(`uint8, north-up: tiepoint + pixel scale, rounding and clamping, a nodata value${NEEDS_GDAL}`, async () => {
    const north = new AffineGeoreference([0.001, 0, 140, 0, -0.001, -5], MOON);
    const r = createRaster(4, 2);
    r.data.set([12.4, 12.6, -3, 300, NaN, 0.2, 254.6, 100]);
    const file = path.join(tmpDir(), "u8.tif");
    await writeGeoTiff(file, r, north, { dtype: "uint8", noData: 255 });
    const { image, data } = await readTiff(file);
    expect(Array.from(data)).toEqual([12, 13, 0, 255, 255, 0, 255, 100]);
    expect(image.fileDirectory.getValue("ModelTransformation")).toBeUndefined();
    expect(storedGeoTransform(image)).toEqual(north.toGdalGeoTransform());
    if (!HAVE_GDAL) return;
    const info = gdalinfo(file);
    expectGeoTransform(info.geoTransform, north.toGdalGeoTransform());
    expect(info.bands[0]!.type).toBe("Byte");
    expect(info.bands[0]!.noDataValue).toBe(255);
    expect(info.coordinateSystem.wkt).toMatch(/ELLIPSOID\["[^"]*",1737400,0[,\]]/);
    expect(gdalValues(file, [{ x: 1, y: 0 }, { x: 3, y: 1 }])).toEqual(["13", "100"]);
  });

  it("refuses what it cannot store faithfully", async () => {
    const r = createRaster(2, 2);
    r.data[0] = NaN;
    const north = new AffineGeoreference([0.001, 0, 140, 0, -0.001, -5], MOON);
    const dir = tmpDir();
    await expect(writeGeoTiff(path.join(dir, "a.tif"), r, north, { dtype: "uint16" })).rejects.toThrow(/no-data \(NaN\).*pass opts.noData/);
    await expect(writeGeoTiff(path.join(dir, "b.tif"), r, north, { dtype: "uint8", noData: 256 })).rejects.toThrow(/not a uint8 value/);
    await expect(writeGeoTiff(path.join(dir, "c.tif"), r, north, { targetName: "Moon|x" })).rejects.toThrow(/targetName/);
    await expect(writeGeoTiff(path.join(dir, "d.tif"), { width: 3, height: 2, data: new Float32Array(4) }, north)).rejects.toThrow(/expected 3 x 2/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe("synthetic ground", () => {
  const ground = syntheticGround({
    seed: "ground-test",
    center: { lon: 140, lat: -5 },
    radius: MOON,
    relief: { wavelength: 6400, amplitude: 80 },
    craters: { region: { minX: -3000, minY: -3000, maxX: 3000, maxY: 3000 }, count: 40, minRadius: 300, maxRadius: 1500 },
  });
  const tangent = new TangentFrame({ lon: 140, lat: -5 }, MOON);

  it("shades with the exact gradient of its height field (fBm and craters, checked by finite differences)", () => {
    const grad = new Float64Array(2);
    const step = 0.01; // metres
    let worst = 0;
    let probes = 0;
    // Probes inside craters (well away from the rim crest and the outer edge, where the second derivative jumps).
    for (const c of ground.craters.slice(0, 20)) {
      for (const rho of [0.3, 0.8, 1.4]) {
        const g = tangent.toLonLat(c.x + rho * c.radius * 0.6, c.y + rho * c.radius * 0.8);
        ground.height(g.lon, g.lat, grad);
        const dLon = step / tangent.metresPerDegLon, dLat = step / tangent.metresPerDegLat;
        const fx = (ground.height(g.lon + dLon, g.lat) - ground.height(g.lon - dLon, g.lat)) / (2 * step);
        const fy = (ground.height(g.lon, g.lat + dLat) - ground.height(g.lon, g.lat - dLat)) / (2 * step);
        worst = Math.max(worst, Math.abs(fx - grad[0]!), Math.abs(fy - grad[1]!));
        probes++;
      }
    }
    expect(probes).toBe(60);
    expect(worst).toBeLessThan(1e-5); // slopes are O(0.1–1)
  });

  it("is continuous at sub-pixel scale: across a crater, the largest step-to-step change shrinks with the step", () => {
    const c = ground.craters.reduce((a, b) => (b.radius > a.radius ? b : a));
    const worstJump = (step: number) => {
      let worst = 0, prev = NaN;
      for (let x = c.x - 2.2 * c.radius; x <= c.x + 2.2 * c.radius; x += step) {
        const g = tangent.toLonLat(x, c.y + 0.3 * c.radius);
        const v = ground.brightness(g.lon, g.lat);
        if (!Number.isNaN(prev)) worst = Math.max(worst, Math.abs(v - prev));
        prev = v;
      }
      return worst;
    };
    // Steps of 1 m and 0.1 m (1/100 and 1/1000 of a 100 m pixel): a jump anywhere on the line (rim crest, edge of
    // the ejecta, a shadow boundary) would not shrink with the step; a continuous function's changes do, ~10×.
    const coarse = worstJump(1), fine = worstJump(0.1);
    expect(coarse).toBeGreaterThan(0);
    expect(fine).toBeLessThan(coarse / 5);
    // Small craters' walls (3 px radius) swing from shade to full sun within a pixel or two: ~1.5 DN per metre.
    expect(fine).toBeLessThan(0.5);
  });

  it("is a function of its seed only", () => {
    const again = syntheticGround({
      seed: "ground-test",
      center: { lon: 140, lat: -5 },
      radius: MOON,
      relief: { wavelength: 6400, amplitude: 80 },
      craters: { region: { minX: -3000, minY: -3000, maxX: 3000, maxY: 3000 }, count: 40, minRadius: 300, maxRadius: 1500 },
    });
    const other = syntheticGround({ seed: "other", center: { lon: 140, lat: -5 }, radius: MOON });
    const pts = Array.from({ length: 50 }, (_, i) => ({ lon: 140 + 0.001 * i, lat: -5 + 0.0007 * i }));
    expect(pts.map((p) => again.brightness(p.lon, p.lat))).toEqual(pts.map((p) => ground.brightness(p.lon, p.lat)));
    expect(pts.map((p) => other.brightness(p.lon, p.lat))).not.toEqual(pts.map((p) => ground.brightness(p.lon, p.lat)));
  });
});

describe("frame layout", () => {
  const base = { width: 256, height: 256, center: { lon: 140, lat: -5 }, radius: MOON, pixelSize: 100, seed: 11 };

  it("a strip: ~40 % overlap between neighbours (from the true maps), none beyond, small rotations and scale changes", () => {
    const frames = layoutFrames({ ...base, frames: 5 });
    expect(frames.map((f) => f.name)).toEqual(["frame_0", "frame_1", "frame_2", "frame_3", "frame_4"]);
    for (let i = 0; i + 1 < frames.length; i++) {
      const o = overlapFraction(frames[i]!, frames[i + 1]!);
      expect(o, `${frames[i]!.name}/${frames[i + 1]!.name}`).toBeGreaterThan(0.35);
      expect(o).toBeLessThan(0.45);
      if (i + 2 < frames.length) expect(overlapFraction(frames[i]!, frames[i + 2]!)).toBe(0);
    }
    // West to east: each next frame's centre is further east, at the same latitude band.
    const centres = frames.map((f) => applyAffine(f.affine, 127.5, 127.5));
    for (let i = 0; i + 1 < centres.length; i++) expect(centres[i + 1]!.lon).toBeGreaterThan(centres[i]!.lon);
    for (const f of frames) {
      expect(Math.abs(f.rotation)).toBeLessThanOrEqual(3);
      expect(Math.abs(f.scale - 1)).toBeLessThanOrEqual(0.02);
      // The map's pixel size on the ground (metres) is the nominal one times the frame's scale.
      const [a, , , d] = f.affine;
      const tangent = new TangentFrame(base.center, MOON);
      expect(Math.hypot(a * tangent.metresPerDegLon, d * tangent.metresPerDegLat)).toBeCloseTo(100 * f.scale, 9);
      expect(Math.atan2(d * tangent.metresPerDegLat, a * tangent.metresPerDegLon) * 180 / Math.PI).toBeCloseTo(f.rotation, 9);
    }
    expect(new Set(frames.map((f) => f.rotation.toFixed(3))).size).toBe(5);
    expect(Math.max(...frames.map((f) => Math.abs(f.rotation)))).toBeGreaterThan(0.5);
    expect(Math.max(...frames.map((f) => Math.abs(f.scale - 1)))).toBeGreaterThan(0.002);
  });

  it("a grid: ~40 % with row and column neighbours, ~16 % diagonally; agrees with the polygon library", () => {
    const frames = layoutFrames({ ...base, frames: { columns: 3, rows: 2 } });
    expect(frames.map((f) => f.name)).toEqual(["frame_r0_c0", "frame_r0_c1", "frame_r0_c2", "frame_r1_c0", "frame_r1_c1", "frame_r1_c2"]);
    const at = (r: number, c: number) => frames[r * 3 + c]!;
    for (const [a, b] of [[at(0, 0), at(0, 1)], [at(0, 1), at(0, 2)], [at(1, 0), at(1, 1)], [at(0, 0), at(1, 0)], [at(0, 2), at(1, 2)]] as const) {
      const o = overlapFraction(a, b);
      expect(o, `${a.name}/${b.name}`).toBeGreaterThan(0.35);
      expect(o).toBeLessThan(0.45);
    }
    const diagonal = overlapFraction(at(0, 0), at(1, 1));
    expect(diagonal).toBeGreaterThan(0.1);
    expect(diagonal).toBeLessThan(0.22);
    // Row 1 is south of row 0.
    expect(applyAffine(at(1, 0).affine, 127.5, 127.5).lat).toBeLessThan(applyAffine(at(0, 0).affine, 127.5, 127.5).lat);
    // Independent check of the overlap arithmetic with src/geometry/polygons.
    const poly = (f: (typeof frames)[number]) => {
      const ring = frameCorners(f.affine, f.width, f.height).map((p) => [p.lon, p.lat] as [number, number]);
      return [[[...ring, ring[0]!]]];
    };
    const viaLibrary = area(intersection(poly(at(0, 0)), poly(at(0, 1)))) / Math.min(area(poly(at(0, 0))), area(poly(at(0, 1))));
    expect(viaLibrary).toBeCloseTo(overlapFraction(at(0, 0), at(0, 1)), 9);
  });
});

describe("rendering puts features where the true maps say", () => {
  it("a Gaussian blob's intensity centroid is at T⁻¹(ground) within 0.01 px, in two frames of different rotation and scale", () => {
    const frames = layoutFrames({ frames: 2, width: 72, height: 64, center: { lon: 140, lat: -5 }, radius: MOON, pixelSize: 100, overlap: 0.6, seed: 4 });
    const [A, B] = frames as [(typeof frames)[0], (typeof frames)[0]];
    expect(Math.abs(A.rotation - B.rotation)).toBeGreaterThan(2); // −1.7° and +2.3°
    expect(Math.abs(A.scale - B.scale)).toBeGreaterThan(0.01); // 0.988 and 1.010
    const tangent = new TangentFrame({ lon: 140, lat: -5 }, MOON);
    // Blobs at non-integer pixel positions of A inside the overlap, σ = 1.3 px (130 m), ≥ 25 px apart so one blob's
    // tail does not reach into another's ±8 px window.
    const blobsInA: PixelPoint[] = [{ x: 40.37, y: 14.81 }, { x: 60.62, y: 30.13 }, { x: 41.05, y: 48.5 }];
    const blobs = blobsInA.map((p) => tangent.toLocal(trueGround({ trueAffine: A.affine }, p).lon, trueGround({ trueAffine: A.affine }, p).lat));
    const sigma = 130;
    const ground = (lon: number, lat: number) => {
      const q = tangent.toLocal(lon, lat);
      let v = 0;
      for (const b of blobs) v += 200 * Math.exp(-((q.x - b.x) ** 2 + (q.y - b.y) ** 2) / (2 * sigma * sigma));
      return v;
    };
    let worst = 0;
    for (const frame of [A, B]) {
      const raster = renderFrame(ground, frame.affine, frame.width, frame.height, { supersample: 3, noise: 0 });
      for (const b of blobs) {
        const g = tangent.toLonLat(b.x, b.y);
        const expected = applyAffine(invertAffine(frame.affine), g.lon, g.lat);
        const c = centroid(raster, { x: expected.lon, y: expected.lat }, 8);
        const err = Math.hypot(c.x - expected.lon, c.y - expected.lat);
        worst = Math.max(worst, err);
        expect(err, `${frame.name} blob at ${expected.lon.toFixed(2)}, ${expected.lat.toFixed(2)}`).toBeLessThan(0.01);
      }
    }
    // Far better than the bound in fact; a half-pixel convention slip would be 0.7 px.
    expect(worst).toBeLessThan(1e-3);
  });
});

/** Intensity-weighted centroid in a (2r + 1)² window around the pixel nearest to `around`. */
function centroid(raster: Raster, around: PixelPoint, r: number): PixelPoint {
  const cx = Math.round(around.x), cy = Math.round(around.y);
  let s = 0, sx = 0, sy = 0;
  for (let y = cy - r; y <= cy + r; y++) {
    for (let x = cx - r; x <= cx + r; x++) {
      if (x < 0 || y < 0 || x >= raster.width || y >= raster.height) throw new Error("centroid window leaves the frame");
      const v = raster.data[y * raster.width + x]!;
      s += v;
      sx += v * x;
      sy += v * y;
    }
  }
  return { x: sx / s, y: sy / s };
}

/** Bilinear sample of a raster at a sub-pixel position (raster.ts convention), NaN outside. */
function bilinear(data: ArrayLike<number>, width: number, height: number, x: number, y: number): number {
  const x0 = Math.floor(x), y0 = Math.floor(y);
  if (x0 < 0 || y0 < 0 || x0 + 1 >= width || y0 + 1 >= height) return NaN;
  const fx = x - x0, fy = y - y0;
  const v = (i: number, j: number) => data[j * width + i]!;
  return (1 - fy) * ((1 - fx) * v(x0, y0) + fx * v(x0 + 1, y0)) + fy * ((1 - fx) * v(x0, y0 + 1) + fx * v(x0 + 1, y0 + 1));
}

function correlation(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe("syntheticCampaign", () => {
  const options: SyntheticCampaignOptions = { frames: 2, size: 128, seed: 42, outDir: "" };
  let campaign: SyntheticCampaign;
  let dir: string;

  beforeAll(async () => {
    dir = tmpDir();
    campaign = await syntheticCampaign({ ...options, outDir: dir });
  });

  it("writes the frames and truth.json, with the truth as plain data", () => {
    expect(campaign.reused).toBe(false);
    expect(campaign.timings).toHaveLength(2);
    expect(campaign.radius).toBe(MOON);
    expect(campaign.seed).toBe(42);
    expect(fs.readdirSync(dir).sort()).toEqual(["frame_0.tif", "frame_1.tif", "truth.json"]);
    const truth = JSON.parse(fs.readFileSync(campaign.truthPath, "utf8"));
    expect(truth).toEqual(JSON.parse(JSON.stringify(campaign.truth)));
    for (const f of campaign.frames) {
      expect(f.path).toBe(path.join(dir, f.file));
      expect([f.width, f.height]).toEqual([128, 128]);
      expect(f.trueAffine).toHaveLength(6);
      expect(f.aprioriAffine).toHaveLength(6);
    }
    // The default ground: the Moon near lon 140°, lat −5°, ~100 m pixels (a 128 px frame spans ~0.4°).
    const g = trueGround(campaign.frames[0]!, { x: 63.5, y: 63.5 });
    expect(Math.abs(g.lon - 140)).toBeLessThan(0.5);
    expect(Math.abs(g.lat + 5)).toBeLessThan(0.5);
    expect(overlapFraction({ ...campaign.frames[0]!, affine: campaign.frames[0]!.trueAffine }, { ...campaign.frames[1]!, affine: campaign.frames[1]!.trueAffine })).toBeGreaterThan(0.35);
  });

  it(`stores the a-priori georeference (GDAL reads it back), which is off the truth by 3 px and 0.5° about the centre${NEEDS_GDAL}`, () => {
    if (!HAVE_GDAL) return;
    for (const f of campaign.frames) {
      const info = gdalinfo(f.path);
      expect(info.size).toEqual([128, 128]);
      expectGeoTransform(info.geoTransform, new AffineGeoreference(f.aprioriAffine, MOON).toGdalGeoTransform());
      expect(info.coordinateSystem.wkt).toMatch(/ELLIPSOID\["Moon",1737400,0[,\]]/);
      // The map q = T_true⁻¹ ∘ T_apriori (GDAL's georeference → true pixel) is measured from the file, not taken from
      // truth.json's description of the error: it must be a rotation by 0.5° about the centre plus a 3 px shift.
      const stored = AffineGeoreference.fromGdalGeoTransform(info.geoTransform as unknown as [number, number, number, number, number, number], MOON);
      const q = (x: number, y: number) => {
        const g = stored.pixelToGround(x, y);
        const p = applyAffine(invertAffine(f.trueAffine), g.lon, g.lat);
        return { x: p.lon, y: p.lat };
      };
      const c = q(63.5, 63.5), ex = q(64.5, 63.5), ey = q(63.5, 64.5);
      expect(Math.hypot(c.x - 63.5, c.y - 63.5)).toBeCloseTo(3, 6);
      const angle = (Math.atan2(ex.y - c.y, ex.x - c.x) * 180) / Math.PI;
      expect(Math.abs(angle)).toBeCloseTo(0.5, 6);
      expect(Math.hypot(ey.x - c.x, ey.y - c.y)).toBeCloseTo(1, 9); // a rotation, no scale
      // The corners are off by more than the centre (rotation adds up to 0.5° × 90 px ≈ 0.8 px) but still a few px.
      const corner = q(0, 0);
      const off = Math.hypot(corner.x, corner.y);
      expect(off).toBeGreaterThan(2.2);
      expect(off).toBeLessThan(3.8);
    }
  });

  it("the files hold exactly the rendering of the true maps, and the frames agree where truePixel says", async () => {
    const resolved = resolveCampaignOptions(options);
    const ground = campaignGround(resolved, campaignLayout(resolved));
    const [A, B] = campaign.frames as [SyntheticCampaign["frames"][0], SyntheticCampaign["frames"][0]];
    const a = await readTiff(A.path);
    const b = await readTiff(B.path);
    const rerendered = renderFrame(ground.brightness, A.trueAffine, 128, 128, { supersample: 3, noise: 2, seed: `42/${A.name}` });
    expect(Array.from(a.data)).toEqual(Array.from(rerendered.data));
    // Texture: a lunar-like scene, not a flat or saturated one.
    const values = Array.from(a.data);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(mean).toBeGreaterThan(90);
    expect(mean).toBeLessThan(160);
    expect(std).toBeGreaterThan(10);
    // Pixels of A against B sampled where the truth (and, for contrast, the a-priori maps) put them.
    const pairs = (map: (p: PixelPoint) => PixelPoint) => {
      const va: number[] = [], vb: number[] = [];
      for (let y = 4; y < 124; y += 2) {
        for (let x = 4; x < 124; x += 2) {
          const q = map({ x, y });
          const v = bilinear(b.data, 128, 128, q.x, q.y);
          if (q.x < 4 || q.y < 4 || q.x > 123 || q.y > 123 || Number.isNaN(v)) continue;
          va.push(a.data[y * 128 + x]!);
          vb.push(v);
        }
      }
      return { n: va.length, r: correlation(va, vb) };
    };
    const viaTruth = pairs((p) => truePixel(A, p, B));
    const viaApriori = pairs((p) => truePixel({ trueAffine: A.aprioriAffine }, p, { trueAffine: B.aprioriAffine }));
    expect(viaTruth.n).toBeGreaterThan(1000);
    expect(viaTruth.r).toBeGreaterThan(0.9);
    expect(viaApriori.r).toBeLessThan(viaTruth.r - 0.3);
    // truePixel and trueGround agree with each other.
    const p = { x: 100.25, y: 17.5 };
    const g1: LonLat = trueGround(A, p), g2 = trueGround(B, truePixel(A, p, B));
    expect(Math.abs(g1.lon - g2.lon) + Math.abs(g1.lat - g2.lat)).toBeLessThan(1e-12);
  });

  it("is deterministic: same options → byte-identical files; another seed → other images", async () => {
    const again = await syntheticCampaign({ ...options, outDir: tmpDir(), reuse: false });
    for (const name of ["frame_0.tif", "frame_1.tif", "truth.json"]) {
      expect(fs.readFileSync(path.join(again.dir, name)).equals(fs.readFileSync(path.join(dir, name))), name).toBe(true);
    }
    const other = await syntheticCampaign({ ...options, seed: 43, outDir: tmpDir() });
    expect(fs.readFileSync(other.frames[0]!.path).equals(fs.readFileSync(campaign.frames[0]!.path))).toBe(false);
    expect(other.frames[0]!.trueAffine).not.toEqual(campaign.frames[0]!.trueAffine);
  });

  it("reuses a matching campaign, and renders again when a file is damaged or the options differ", async () => {
    const mtime = (f: string) => fs.statSync(f).mtimeMs;
    const before = campaign.frames.map((f) => mtime(f.path));
    const cached = await syntheticCampaign({ ...options, outDir: dir });
    expect(cached.reused).toBe(true);
    expect(cached.timings).toEqual([]);
    expect(cached.frames).toEqual(campaign.frames);
    expect(campaign.frames.map((f) => mtime(f.path))).toEqual(before);

    const original = fs.readFileSync(campaign.frames[1]!.path);
    fs.appendFileSync(campaign.frames[1]!.path, "x");
    const repaired = await syntheticCampaign({ ...options, outDir: dir });
    expect(repaired.reused).toBe(false);
    expect(fs.readFileSync(campaign.frames[1]!.path).equals(original)).toBe(true);

    const changed = await syntheticCampaign({ ...options, frames: 1, noise: 1, outDir: dir });
    expect(changed.reused).toBe(false);
    expect(changed.truth.optionsHash).not.toBe(campaign.truth.optionsHash);
    expect(fs.readdirSync(dir).sort()).toEqual(["frame_0.tif", "truth.json"]); // the old frame_1 went with its campaign
    // Put the original campaign back for any test that runs after this one.
    await syntheticCampaign({ ...options, outDir: dir });
  });

  it("checks its options before writing anything; names frames with the prefix", async () => {
    const d = tmpDir();
    await expect(syntheticCampaign({ ...options, size: 0, outDir: d })).rejects.toThrow(/width must be positive/);
    await expect(syntheticCampaign({ ...options, supersample: 1.5, outDir: d })).rejects.toThrow(/supersample/);
    await expect(syntheticCampaign({ ...options, overlap: 1, outDir: d })).rejects.toThrow(/overlap/);
    await expect(syntheticCampaign({ ...options, aprioriError: { pixels: -1, degrees: 0 }, outDir: d })).rejects.toThrow(/aprioriError.pixels/);
    await expect(syntheticCampaign({ ...options, prefix: "a/b", outDir: d })).rejects.toThrow(/prefix/);
    expect(fs.readdirSync(d)).toEqual([]);
    const small = await syntheticCampaign({ frames: { columns: 2, rows: 1 }, size: { width: 24, height: 16 }, seed: 1, prefix: "P01", craters: false, noise: 0, supersample: 1, outDir: d });
    expect(small.frames.map((f) => [f.name, f.file, f.width, f.height])).toEqual([["P01_r0_c0", "P01_r0_c0.tif", 24, 16], ["P01_r0_c1", "P01_r0_c1.tif", 24, 16]]);
  });

  it("defaults its directory to .autocnet/synthetic/<hash of the options>", () => {
    const d = defaultCampaignDir(options);
    expect(d).toBe(path.resolve(".autocnet", "synthetic", campaign.truth.optionsHash));
    expect(defaultCampaignDir({ ...options, outDir: "/elsewhere", reuse: false })).toBe(d); // where and whether-to-reuse are not options of the images
    expect(defaultCampaignDir({ ...options, noise: 3 })).not.toBe(d);
  });
});
