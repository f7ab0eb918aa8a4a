import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AffineGeoreference, ImageError, IsisMappingGeoreference, ISIS_SPECIAL, openFileSource, openImage, type ByteSource,
  type Image, type IsisImage, type PixelWindow,
} from "../src/image";
import {
  APOLLO, HAVE_GDAL, NO_GDAL_REASON, gdal, gdalInfo, gdalValues, samplePoints, tempDir,
} from "./fixtures/images/gdal-tools";

const CUBE_0297 = path.join(APOLLO, "AS15-M-0297_crop.cub");
const CUBE_0298 = path.join(APOLLO, "AS15-M-0298_crop.cub");
const tmp = tempDir("acn-isis-");
afterAll(() => tmp.remove());

async function imageError(p: Promise<unknown>): Promise<ImageError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (e instanceof ImageError) return e;
  throw new Error(`expected an ImageError, got ${String(e)}`);
}

async function withImage<T>(file: string, fn: (im: Image) => Promise<T>): Promise<T> {
  const im = await openImage(file);
  try {
    return await fn(im);
  } finally {
    await im.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A cube writer for the tests: label + pixels laid out as ISIS does (checked against GDAL below, so a misunderstanding
// shared by this writer and our reader cannot pass unnoticed).

type CubeType = "UnsignedByte" | "SignedWord" | "UnsignedWord" | "Real";
interface CubeSpec {
  width: number;
  height: number;
  bands?: number;
  type: CubeType;
  order?: "Lsb" | "Msb";
  format?: "Tile" | "BandSequential";
  tile?: [number, number];
  base?: number;
  multiplier?: number;
  /** the raw value at (x, y, band); a Real special pixel may be given as {bits} */
  raw: (x: number, y: number, b: number) => number | { bits: number };
  startByte?: number;
  extraLabel?: string;
}

const BPP: Record<CubeType, number> = { UnsignedByte: 1, SignedWord: 2, UnsignedWord: 2, Real: 4 };

function cubeLabel(s: CubeSpec, startByte: number, core = ""): string {
  const tiled = (s.format ?? "Tile") === "Tile";
  return [
    "Object = IsisCube",
    "  Object = Core",
    `    StartByte   = ${startByte}`,
    core,
    `    Format      = ${tiled ? "Tile" : "BandSequential"}`,
    tiled ? `    TileSamples = ${s.tile![0]}\n    TileLines   = ${s.tile![1]}` : "",
    "    Group = Dimensions",
    `      Samples = ${s.width}`,
    `      Lines   = ${s.height}`,
    `      Bands   = ${s.bands ?? 1}`,
    "    End_Group",
    "    Group = Pixels",
    `      Type       = ${s.type}`,
    `      ByteOrder  = ${s.order ?? "Lsb"}`,
    `      Base       = ${s.base ?? 0.0}`,
    `      Multiplier = ${s.multiplier ?? 1.0}`,
    "    End_Group",
    "  End_Object",
    s.extraLabel ?? "",
    "End_Object",
    "End",
    "",
  ].filter((l) => l !== "").join("\n") + "\n";
}

function cubePixels(s: CubeSpec): Buffer {
  const bands = s.bands ?? 1;
  const bpp = BPP[s.type];
  const le = (s.order ?? "Lsb") === "Lsb";
  const tiled = (s.format ?? "Tile") === "Tile";
  const [tw, th] = tiled ? s.tile! : [s.width, 1];
  const across = Math.ceil(s.width / tw);
  const down = Math.ceil(s.height / th);
  const buf = Buffer.alloc(across * tw * down * th * bands * bpp);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  for (let b = 0; b < bands; b++) {
    for (let ty = 0; ty < down; ty++) {
      for (let tx = 0; tx < across; tx++) {
        const tileStart = ((b * down + ty) * across + tx) * tw * th * bpp;
        for (let r = 0; r < th; r++) {
          for (let c = 0; c < tw; c++) {
            const x = tx * tw + c;
            const y = ty * th + r;
            if (x >= s.width || y >= s.height) continue; // padding stays zero
            const at = tileStart + (r * tw + c) * bpp;
            const v = s.raw(x, y, b);
            if (typeof v === "object") view.setUint32(at, v.bits, le);
            else if (s.type === "Real") view.setFloat32(at, v, le);
            else if (s.type === "SignedWord") view.setInt16(at, v, le);
            else if (s.type === "UnsignedWord") view.setUint16(at, v, le);
            else view.setUint8(at, v);
          }
        }
      }
    }
  }
  return buf;
}

/** Writes an attached-label cube; the data starts at `startByte` (1-based), default just after a padded label. */
function writeCube(file: string, s: CubeSpec): string {
  const startByte = s.startByte ?? 1001;
  const label = Buffer.from(cubeLabel(s, startByte));
  if (label.length > startByte - 1) throw new Error("test label too long for its StartByte");
  fs.writeFileSync(file, Buffer.concat([label, Buffer.alloc(startByte - 1 - label.length), cubePixels(s)]));
  return file;
}

/** What our reader must return for raw value v of a cube type (ISIS's read path; see src/image/isis-pixels.ts). */
function expectedValue(type: CubeType, raw: number, base: number, mult: number): number {
  switch (type) {
    case "Real": // GDAL prints 15 digits: round back to the float32 it read
      return Math.fround(raw) < ISIS_SPECIAL.Real.VALID_MIN ? NaN : Math.fround(raw);
    case "SignedWord":
      return raw < -32752 ? NaN : Math.fround(raw * mult + base);
    case "UnsignedWord":
      return raw < 3 || raw > 65522 ? NaN : Math.fround(raw * mult + base);
    case "UnsignedByte":
      return raw === 0 || raw === 255 ? NaN : Math.fround(raw * mult + base);
  }
}

/** Deterministic raw values with every special pixel of the type at known places. */
function rawValues(type: CubeType): CubeSpec["raw"] {
  const R = (bits: number) => ({ bits });
  switch (type) {
    case "Real": {
      const specials = [R(0xff7ffffb), R(0xff7ffffc), R(0xff7ffffd), R(0xff7ffffe), R(0xff7fffff), -Infinity, R(0xff7ffffa)];
      return (x, y, b) => (y === 3 && x < specials.length ? specials[x]! : Math.fround(Math.sin(x * 0.37 + y * 0.11 + b) * 1000 + y - x * 0.25));
    }
    case "SignedWord": {
      const specials = [-32768, -32767, -32766, -32765, -32764, -32760, -32753, -32752, 32767];
      return (x, y, b) => (y === 3 && x < specials.length ? specials[x]! : ((x * 37 + y * 101 + b * 7919) % 60000) - 30000);
    }
    case "UnsignedWord": {
      const specials = [0, 1, 2, 3, 65522, 65523, 65534, 65535];
      return (x, y, b) => (y === 3 && x < specials.length ? specials[x]! : 3 + ((x * 37 + y * 101 + b * 7919) % 65000));
    }
    case "UnsignedByte": {
      const specials = [0, 255, 1, 254];
      return (x, y, b) => (y === 3 && x < specials.length ? specials[x]! : 1 + ((x * 7 + y * 13 + b * 29) % 254));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------

describe("the real Apollo 15 cubes", () => {
  it("open as 500 × 500 × 1 isis3 images without a georeference, with the parsed label", async () => {
    await withImage(CUBE_0297, async (im) => {
      expect(im.format).toBe("isis3");
      expect([im.width, im.height, im.bands]).toEqual([500, 500, 1]);
      expect(im.georeference).toBeUndefined();
      expect(im.georeferenceProblem).toBeUndefined();
      expect(((im as IsisImage).label.IsisCube as Record<string, Record<string, unknown>>).Instrument!.TargetName).toBe("MOON");
    });
  });

  it("pixel values recorded from GDAL 3.6 (checked without GDAL installed)", async () => {
    await withImage(CUBE_0297, async (im) => {
      const r = await im.read({ x: 10, y: 20, width: 2, height: 1 });
      expect(Array.from(r.data)).toEqual([6911.794921875, 4364.62646484375]);
      const all = await im.read();
      expect([all.width, all.height, all.data.length]).toEqual([500, 500, 250_000]);
      expect(all.data[0]).toBe(15778.912109375);
      expect(all.data[499 * 500 + 499]).toBe(7079.14404296875);
    });
  });

  it("any window equals the same pixels of the whole image", async () => {
    await withImage(CUBE_0298, async (im) => {
      const all = await im.read();
      for (const w of [{ x: 0, y: 0, width: 1, height: 1 }, { x: 499, y: 0, width: 1, height: 500 }, { x: 123, y: 45, width: 67, height: 89 }]) {
        const r = await im.read(w);
        for (let y = 0; y < w.height; y++) {
          for (let x = 0; x < w.width; x++) expect(r.data[y * w.width + x]).toBe(all.data[(w.y + y) * 500 + w.x + x]);
        }
      }
    });
  });

  describe.skipIf(!HAVE_GDAL)(`equal GDAL's values (${HAVE_GDAL ? "gdallocationinfo" : NO_GDAL_REASON})`, () => {
    it.each([CUBE_0297, CUBE_0298])("%s at 24 sampled pixels", async (file) => {
      const points = samplePoints(500, 500, 24, file.length);
      const theirs = gdalValues(file, points).map(Math.fround); // GDAL prints 15 digits of the float32 it read
      await withImage(file, async (im) => {
        const all = await im.read();
        const ours = points.map(([x, y]) => all.data[y * 500 + x]!);
        expect(ours).toEqual(theirs);
        // and through 1 × 1 windows, which exercise the partial-tile path
        for (const [i, [x, y]] of points.entries()) expect((await im.read({ x, y, width: 1, height: 1 })).data[0]).toBe(theirs[i]);
      });
    });
  });
});

describe("cube layouts, pixel types, byte orders, scaling and special pixels", () => {
  const cases: Array<[string, CubeSpec]> = [
    ["Real Lsb Tile 16×16 (partial edge tiles)", { width: 37, height: 29, type: "Real", format: "Tile", tile: [16, 16], raw: rawValues("Real") }],
    ["Real Msb BandSequential 2 bands", { width: 33, height: 21, bands: 2, type: "Real", order: "Msb", format: "BandSequential", raw: rawValues("Real") }],
    ["SignedWord Lsb Tile, Base/Multiplier", { width: 40, height: 30, type: "SignedWord", tile: [32, 8], base: 100, multiplier: 0.5, raw: rawValues("SignedWord") }],
    ["SignedWord Msb BandSequential 3 bands", { width: 25, height: 19, bands: 3, type: "SignedWord", order: "Msb", format: "BandSequential", raw: rawValues("SignedWord") }],
    ["UnsignedWord Msb Tile, Base/Multiplier", { width: 30, height: 30, type: "UnsignedWord", order: "Msb", tile: [7, 11], base: -5, multiplier: 2, raw: rawValues("UnsignedWord") }],
    ["UnsignedByte Lsb Tile 3 bands, Base/Multiplier", { width: 41, height: 23, bands: 3, type: "UnsignedByte", tile: [8, 8], base: 1.5, multiplier: 0.25, raw: rawValues("UnsignedByte") }],
    ["UnsignedByte BandSequential", { width: 9, height: 7, type: "UnsignedByte", format: "BandSequential", raw: rawValues("UnsignedByte") }],
    ["Real with Multiplier ≠ 1: not scaled, as in ISIS", { width: 12, height: 8, type: "Real", format: "BandSequential", base: 10, multiplier: 3, raw: rawValues("Real") }],
  ];

  it.each(cases)("%s: every pixel as ISIS reads it, whole and in windows", async (name, spec) => {
    const file = writeCube(path.join(tmp.dir, `${name.replace(/[^A-Za-z0-9]+/g, "_")}.cub`), spec);
    const base = spec.base ?? 0;
    const mult = spec.multiplier ?? 1;
    await withImage(file, async (im) => {
      expect([im.width, im.height, im.bands]).toEqual([spec.width, spec.height, spec.bands ?? 1]);
      for (let b = 0; b < (spec.bands ?? 1); b++) {
        const all = await im.read(undefined, b);
        let specials = 0;
        for (let y = 0; y < spec.height; y++) {
          for (let x = 0; x < spec.width; x++) {
            const v = spec.raw(x, y, b);
            const raw = typeof v === "object" ? new DataView(new Uint32Array([v.bits]).buffer).getFloat32(0, true) : v;
            const want = expectedValue(spec.type, raw, base, mult);
            if (Number.isNaN(want)) specials++;
            expect(all.data[y * spec.width + x], `(${x}, ${y}) band ${b} raw ${raw}`).toBe(want);
          }
        }
        expect(specials).toBeGreaterThan(0);
        const w: PixelWindow = { x: 3, y: 2, width: spec.width - 5, height: spec.height - 3 };
        const part = await im.read(w, b);
        for (let y = 0; y < w.height; y++) {
          for (let x = 0; x < w.width; x++) expect(part.data[y * w.width + x]).toBe(all.data[(y + w.y) * spec.width + x + w.x]);
        }
      }
    });
  });

  it("ISIS's special pixel constants are the documented bit patterns", () => {
    const bits = (f: number) => new DataView(new Float32Array([f]).buffer).getUint32(0, true);
    expect([ISIS_SPECIAL.Real.NULL, ISIS_SPECIAL.Real.LRS, ISIS_SPECIAL.Real.LIS, ISIS_SPECIAL.Real.HIS, ISIS_SPECIAL.Real.HRS].map(bits))
      .toEqual([0xff7ffffb, 0xff7ffffc, 0xff7ffffd, 0xff7ffffe, 0xff7fffff]);
    expect(bits(ISIS_SPECIAL.Real.VALID_MIN)).toBe(0xff7ffffa);
  });

  describe.skipIf(!HAVE_GDAL)(`GDAL reads the same raw values (${HAVE_GDAL ? "gdallocationinfo" : NO_GDAL_REASON})`, () => {
    it.each(cases)("%s", async (name, spec) => {
      const file = writeCube(path.join(tmp.dir, `gdal-${name.replace(/[^A-Za-z0-9]+/g, "_")}.cub`), spec);
      const points = [...samplePoints(spec.width, spec.height, 20), ...Array.from({ length: 9 }, (_, x) => [Math.min(x, spec.width - 1), 3] as [number, number])];
      await withImage(file, async (im) => {
        for (let b = 0; b < (spec.bands ?? 1); b++) {
          const theirs = gdalValues(file, points, b + 1);
          const all = await im.read(undefined, b);
          points.forEach(([x, y], i) => {
            const want = expectedValue(spec.type, theirs[i]!, spec.base ?? 0, spec.multiplier ?? 1);
            expect(all.data[y * spec.width + x], `(${x}, ${y}) band ${b}: GDAL says ${theirs[i]}`).toBe(want);
          });
        }
      });
    });
  });
});

describe.skipIf(!HAVE_GDAL)(`cubes written by GDAL (${HAVE_GDAL ? "gdal_translate -of ISIS3" : NO_GDAL_REASON})`, () => {
  const src = () => path.join(tmp.dir, "src.tif");
  beforeAll(() => {
    gdal("gdal_translate", ["-q", "-of", "GTiff", "-b", "1", "-mask", "none", "-a_srs", "+proj=longlat +R=3396190 +no_defs", "-a_ullr", "10", "20", "15", "15", CUBE_0297, src()]);
  });

  it.each<[string, string[]]>([
    ["Int16 BandSequential with -a_scale/-a_offset (Base/Multiplier)", ["-ot", "Int16", "-scale", "0", "20000", "-30000", "30000", "-a_scale", "0.5", "-a_offset", "100"]],
    ["Byte tiled 64 × 48", ["-ot", "Byte", "-scale", "0", "20000", "1", "254", "-co", "TILED=YES", "-co", "BLOCKXSIZE=64", "-co", "BLOCKYSIZE=48"]],
    ["UInt16 tiled", ["-ot", "UInt16", "-scale", "0", "20000", "3", "60000", "-co", "TILED=YES"]],
    ["Float32 detached label (DATA_LOCATION=EXTERNAL)", ["-ot", "Float32", "-co", "DATA_LOCATION=EXTERNAL"]],
  ])("%s", async (name, args) => {
    const out = path.join(tmp.dir, `${name.replace(/[^A-Za-z0-9]+/g, "_")}.${args.includes("DATA_LOCATION=EXTERNAL") ? "lbl" : "cub"}`);
    gdal("gdal_translate", ["-q", "-of", "ISIS3", "-co", "USE_SRC_LABEL=NO", ...args, src(), out]);
    const points = samplePoints(500, 500, 20);
    const theirs = gdalValues(out, points);
    await withImage(out, async (im) => {
      const layout = (im as unknown as { layout: { pixelType: string; base: number; multiplier: number } }).layout;
      const all = await im.read();
      points.forEach(([x, y], i) => {
        const want = expectedValue(layout.pixelType as CubeType, theirs[i]!, layout.base, layout.multiplier);
        expect(all.data[y * 500 + x], `(${x}, ${y})`).toBe(want);
      });
      // GDAL wrote a SimpleCylindrical Mapping group: our georeference puts pixel centres where GDAL's geotransform does.
      const gt = gdalInfo(out).geoTransform!;
      const geo = im.georeference as IsisMappingGeoreference;
      expect(geo.kind).toBe("isis-mapping");
      const p = geo.pixelToProjection(0, 0);
      expect(p.x).toBeCloseTo(gt[0]! + 0.5 * gt[1]!, 6);
      expect(p.y).toBeCloseTo(gt[3]! + 0.5 * gt[5]!, 6);
      expect(geo.pixelToGround(0, 0).lon).toBeCloseTo(10.005, 9);
      expect(geo.pixelToGround(0, 0).lat).toBeCloseTo(19.995, 9);
      expect(geo.pixelToGround(499, 499).lon).toBeCloseTo(14.995, 9);
    });
  });

  it("an Equirectangular cube (CenterLatitude 30°): pixel ↔ lon/lat as gdaltransform computes it", async () => {
    const eqcTif = path.join(tmp.dir, "eqc.tif");
    const eqcCub = path.join(tmp.dir, "eqc.cub");
    gdal("gdal_translate", ["-q", "-of", "GTiff", "-b", "1", "-mask", "none", "-a_srs", "+proj=eqc +lat_ts=30 +lon_0=180 +R=1737400 +units=m +no_defs", "-a_ullr", "-100000", "50000", "100000", "-150000", CUBE_0297, eqcTif]);
    gdal("gdal_translate", ["-q", "-of", "ISIS3", "-co", "USE_SRC_LABEL=NO", eqcTif, eqcCub]);
    await withImage(eqcCub, async (im) => {
      const geo = im.georeference!;
      expect(geo.kind).toBe("isis-mapping");
      expect(geo.radius).toBe(1737400);
      const pts: Array<[number, number]> = [[0, 0], [499, 0], [0, 499], [499, 499], [250, 125], [17, 333]];
      // gdaltransform takes GDAL pixel/line (corner-based): our pixel centre (x, y) is (x + 0.5, y + 0.5).
      const lines = execGdalTransform(eqcCub, "+proj=longlat +R=1737400 +no_defs", pts.map(([x, y]) => [x + 0.5, y + 0.5]));
      pts.forEach(([x, y], i) => {
        const g = geo.pixelToGround(x, y);
        // GDAL wraps longitudes into ±180; we do not wrap (footprints stay continuous): compare modulo 360.
        expect(((g.lon - lines[i]![0]! + 540) % 360) - 180, `lon of (${x}, ${y}): ours ${g.lon}, GDAL ${lines[i]![0]}`).toBeCloseTo(0, 9);
        expect(g.lat, `lat of (${x}, ${y})`).toBeCloseTo(lines[i]![1]!, 9);
        const back = geo.groundToPixel(g.lon, g.lat);
        expect(back.x).toBeCloseTo(x, 9);
        expect(back.y).toBeCloseTo(y, 9);
      });
      // the scale really is cos(30°): 400 m/pixel → 400 / (R cos 30°) radians of longitude per pixel
      const dlon = geo.pixelToGround(1, 0).lon - geo.pixelToGround(0, 0).lon;
      expect(dlon).toBeCloseTo((400 / (1737400 * Math.cos(Math.PI / 6))) * (180 / Math.PI), 12);
    });
  });
});

function execGdalTransform(file: string, srs: string, pts: Array<[number, number]>): number[][] {
  const out = execFileSync("gdaltransform", ["-t_srs", srs, file], { input: pts.map((p) => p.join(" ")).join("\n") + "\n", encoding: "utf8" });
  return out.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
}

describe("Mapping groups written by hand: the formulas, directions and latitude types", () => {
  const mapping = (extra: string) => `  Group = Mapping\n${extra}\n  End_Group`;
  const spec = (extra: string): CubeSpec => ({ width: 10, height: 10, type: "UnsignedByte", format: "BandSequential", raw: () => 7, extraLabel: mapping(extra), startByte: 2001 });

  it("SimpleCylindrical, PositiveWest: east-positive longitudes; the upper-left corner is the first pixel's outer corner", async () => {
    const R = 3396190;
    const file = writeCube(path.join(tmp.dir, "simp-west.cub"), spec([
      "    ProjectionName = SimpleCylindrical", `    EquatorialRadius = ${R} <meters>`, `    PolarRadius = ${R} <meters>`,
      "    LatitudeType = Planetocentric", "    LongitudeDirection = PositiveWest", "    CenterLongitude = 180.0",
      "    UpperLeftCornerX = 0.0 <meters>", "    UpperLeftCornerY = 0.0 <meters>", "    PixelResolution = 1000.0 <meters/pixel>",
    ].join("\n")));
    await withImage(file, async (im) => {
      const geo = im.georeference!;
      const m = 1000 / R * (180 / Math.PI); // degrees per pixel
      // x_proj = 500 m at the first pixel's centre; east-positive lon = -180 + x/R (ISIS: lon_west = 180 - x/R).
      expect(geo.pixelToGround(0, 0).lon).toBeCloseTo(-180 + 0.5 * m, 12);
      expect(geo.pixelToGround(0, 0).lat).toBeCloseTo(-0.5 * m, 12);
      expect(geo.pixelToGround(3, 0).lon - geo.pixelToGround(2, 0).lon).toBeCloseTo(m, 12);
      expect(geo.groundToPixel(-180, 0).x).toBeCloseTo(-0.5, 9);
    });
  });

  it("Planetographic latitudes on an ellipsoid are returned planetocentric", async () => {
    const a = 3396190;
    const c = 3376200;
    const file = writeCube(path.join(tmp.dir, "eqr-ographic.cub"), spec([
      "    ProjectionName = Equirectangular", `    EquatorialRadius = ${a} <meters>`, `    PolarRadius = ${c} <meters>`,
      "    LatitudeType = Planetographic", "    LongitudeDirection = PositiveEast", "    CenterLongitude = 0.0", "    CenterLatitude = 0.0",
      "    UpperLeftCornerX = 0.0", `    UpperLeftCornerY = ${a * (45 * Math.PI / 180) + 500}`, "    PixelResolution = 1000.0",
    ].join("\n")));
    await withImage(file, async (im) => {
      const geo = im.georeference!;
      const graphic = 45 * Math.PI / 180;
      const centric = Math.atan(Math.tan(graphic) * (c / a) ** 2) * 180 / Math.PI;
      expect(geo.pixelToGround(0, 0).lat).toBeCloseTo(centric, 10);
      expect(geo.groundToPixel(0, centric).y).toBeCloseTo(0, 8);
    });
  });

  it("an unsupported projection leaves georeference undefined and says why; a broken group is an error", async () => {
    const sinu = writeCube(path.join(tmp.dir, "sinu.cub"), spec("    ProjectionName = Sinusoidal\n    CenterLongitude = 0"));
    await withImage(sinu, async (im) => {
      expect(im.georeference).toBeUndefined();
      expect(im.georeferenceProblem).toBe("IsisCube > Mapping > ProjectionName = Sinusoidal: only Equirectangular and SimpleCylindrical are supported");
    });
    const broken = writeCube(path.join(tmp.dir, "broken-map.cub"), spec("    ProjectionName = Equirectangular\n    EquatorialRadius = 10 <furlongs>"));
    expect((await imageError(openImage(broken))).message).toBe(`${broken}: IsisCube > Mapping > EquatorialRadius has unit <furlongs>, expected metres`);
    const missing = writeCube(path.join(tmp.dir, "missing-map.cub"), spec("    ProjectionName = SimpleCylindrical\n    EquatorialRadius = 10"));
    expect((await imageError(openImage(missing))).message).toMatch(/IsisCube > Mapping > PixelResolution must be a number \(metres\/pixel\), found undefined/);
  });
});

describe("a georeference beside the image: <image>.georef.json", () => {
  it("gives the Apollo cube an affine georeference in our pixel convention", async () => {
    const cube = path.join(tmp.dir, "apollo-with-sidecar.cub");
    fs.copyFileSync(CUBE_0297, cube);
    fs.writeFileSync(`${cube}.georef.json`, JSON.stringify({ affine: [0.001, 0, 10, 0, -0.001, 20], radius: 1737400 }));
    await withImage(cube, async (im) => {
      const geo = im.georeference as AffineGeoreference;
      expect(geo).toBeInstanceOf(AffineGeoreference);
      expect(geo.radius).toBe(1737400);
      expect(geo.pixelToGround(0, 0)).toEqual({ lon: 10, lat: 20 });
      expect(geo.pixelToGround(100, 200).lon).toBeCloseTo(10.1, 12);
    });
  });

  it("a bad sidecar is an error naming the sidecar and the expected form", async () => {
    const cube = path.join(tmp.dir, "apollo-bad-sidecar.cub");
    fs.copyFileSync(CUBE_0297, cube);
    fs.writeFileSync(`${cube}.georef.json`, JSON.stringify({ affine: [1, 2, 3], radius: 1737400 }));
    expect((await imageError(openImage(cube))).message).toBe(
      `${cube}.georef.json: "affine" must be 6 finite numbers, found [1,2,3]; expected {"affine": [a, b, c, d, e, f], "radius": metres} (lon = a·x + b·y + c, lat = d·x + e·y + f)`,
    );
    fs.writeFileSync(`${cube}.georef.json`, JSON.stringify({ affine: [0, 0, 1, 0, 0, 1], radius: 5 }));
    expect((await imageError(openImage(cube))).message).toMatch(/georef\.json: affine georeference is singular/);
    fs.writeFileSync(`${cube}.georef.json`, "{affine: 1");
    expect((await imageError(openImage(cube))).message).toMatch(/georef\.json: not JSON/);
  });

  it("is ignored when the cube has a Mapping group of its own", async () => {
    const file = writeCube(path.join(tmp.dir, "mapped-with-sidecar.cub"), {
      width: 4, height: 4, type: "UnsignedByte", format: "BandSequential", raw: () => 9, startByte: 2001,
      extraLabel: "  Group = Mapping\n    ProjectionName = SimpleCylindrical\n    EquatorialRadius = 1000\n    CenterLongitude = 0\n    UpperLeftCornerX = 0\n    UpperLeftCornerY = 0\n    PixelResolution = 1\n  End_Group",
    });
    fs.writeFileSync(`${file}.georef.json`, JSON.stringify({ affine: [1, 0, 0, 0, -1, 0], radius: 5 }));
    await withImage(file, async (im) => expect(im.georeference!.kind).toBe("isis-mapping"));
  });
});

describe("windowed reads read only what they touch", () => {
  /** openSource that counts the bytes each read asks for. */
  function counting(): { openSource: (p: string) => Promise<ByteSource>; bytes: () => number; reads: () => number } {
    let bytes = 0;
    let reads = 0;
    return {
      bytes: () => bytes,
      reads: () => reads,
      openSource: async (p) => {
        const s = await openFileSource(p);
        return {
          path: s.path,
          size: s.size,
          close: () => s.close(),
          read: async (pos, len) => {
            reads++;
            bytes += len;
            return s.read(pos, len);
          },
        };
      },
    };
  }

  // 2048 × 2048 Real, 128 × 128 tiles: 16 MiB of pixels; written sparse except the tiles the window touches, so a
  // reader that reads other tiles would also see zeros there (and the byte count below would catch it).
  it("a tiled cube: the window's rows of the 4 tiles it crosses", async () => {
    const file = path.join(tmp.dir, "big-tiled.cub");
    const spec: CubeSpec = { width: 2048, height: 2048, type: "Real", tile: [128, 128], raw: () => 0, startByte: 65537 };
    const label = Buffer.from(cubeLabel(spec, 65537));
    fs.writeFileSync(file, Buffer.concat([label, Buffer.alloc(65536 - label.length)]));
    fs.truncateSync(file, 65536 + 2048 * 2048 * 4);
    // fill tiles (7, 7), (8, 7), (7, 8), (8, 8) with value = y * 10000 + x
    const fd = fs.openSync(file, "r+");
    for (const [tx, ty] of [[7, 7], [8, 7], [7, 8], [8, 8]] as const) {
      const tile = new Float32Array(128 * 128);
      for (let r = 0; r < 128; r++) for (let c = 0; c < 128; c++) tile[r * 128 + c] = (ty * 128 + r) * 10000 + tx * 128 + c;
      fs.writeSync(fd, Buffer.from(tile.buffer), 0, tile.byteLength, 65536 + (ty * 16 + tx) * 128 * 128 * 4);
    }
    fs.closeSync(fd);
    const c = counting();
    const im = await openImage(file, { openSource: c.openSource });
    try {
      const labelBytes = c.bytes();
      expect(labelBytes).toBe(65536);
      const w = { x: 1000, y: 1000, width: 100, height: 100 };
      const r = await im.read(w);
      for (let y = 0; y < 100; y++) for (let x = 0; x < 100; x++) expect(r.data[y * 100 + x]).toBe((1000 + y) * 10000 + 1000 + x);
      // tile row 7 holds image rows 896..1023 → rows 1000..1023 (24); tile row 8 → rows 1024..1099 (76); 2 tiles across
      expect(c.bytes() - labelBytes).toBe(2 * (24 + 76) * 128 * 4);
      expect(c.reads()).toBe(1 + 4);
    } finally {
      await im.close();
    }
  });

  it("a band-sequential cube: the window's rows (one read for rows close together, one per row when far apart)", async () => {
    const file = writeCube(path.join(tmp.dir, "bsq.cub"), {
      width: 3000, height: 50, bands: 2, type: "SignedWord", format: "BandSequential", raw: (x, y, b) => (x + y * 7 + b * 1000) % 30000, startByte: 4097,
    });
    const c = counting();
    await withImage(file, async () => {});
    const im = await openImage(file, { openSource: c.openSource });
    try {
      const before = c.bytes();
      const r = await im.read({ x: 100, y: 10, width: 20, height: 5 }, 1);
      expect(r.data[0]).toBe((100 + 70 + 1000) % 30000);
      expect(c.bytes() - before).toBe(4 * 3000 * 2 + 20 * 2); // merged: gaps of 5960 bytes < 64 KiB
      const wide = writeCube(path.join(tmp.dir, "bsq-wide.cub"), {
        width: 100_000, height: 6, type: "UnsignedByte", format: "BandSequential", raw: (x, y) => 1 + ((x + y) % 250), startByte: 4097,
      });
      const c2 = counting();
      const im2 = await openImage(wide, { openSource: c2.openSource });
      const before2 = c2.bytes();
      const r2 = await im2.read({ x: 99_990, y: 1, width: 10, height: 4 });
      expect(r2.data[0]).toBe(1 + ((99_990 + 1) % 250));
      expect(c2.bytes() - before2).toBe(4 * 10); // rows 100000 bytes apart (gaps > 64 KiB): read one by one
      expect(c2.reads()).toBe(1 + 4);
      await im2.close();
    } finally {
      await im.close();
    }
  });
});

describe("errors say which file, what is wrong and what fits", () => {
  it("a window outside the image names the window and the image size", async () => {
    await withImage(CUBE_0297, async (im) => {
      expect((await imageError(im.read({ x: 490, y: 0, width: 20, height: 10 }))).message).toBe(
        `${CUBE_0297}: window {x: 490, y: 0, width: 20, height: 10} is outside the 500 × 500 image (x + width = 510 > 500)`,
      );
      expect((await imageError(im.read({ x: -1, y: 0, width: 1, height: 1 }))).message).toMatch(/is outside the 500 × 500 image \(x < 0\)$/);
      expect((await imageError(im.read({ x: 0, y: 0, width: 0, height: 1 }))).message).toMatch(/is empty: width and height must be at least 1/);
      expect((await imageError(im.read({ x: 0.5, y: 0, width: 1, height: 1 }))).message).toMatch(/must be whole pixels/);
      expect((await imageError(im.read(undefined, 1))).message).toBe(`${CUBE_0297}: band 1 does not exist: the image has 1 band (0-based: 0..0)`);
    });
  });

  it("a file shorter than its label says fails at open, not with garbage", async () => {
    const file = path.join(tmp.dir, "liar.cub");
    const spec: CubeSpec = { width: 10000, height: 10000, type: "Real", tile: [512, 512], raw: () => 0, startByte: 65537 };
    const label = Buffer.from(cubeLabel(spec, 65537));
    fs.writeFileSync(file, Buffer.concat([label, Buffer.alloc(65536 - label.length), Buffer.alloc(1_000_000)]));
    expect((await imageError(openImage(file))).message).toBe(
      `${file}: the label says 10000 × 10000 × 1 Real pixels in Tile format (512 × 512 tiles): 419430400 bytes from byte 65537, ` +
        `ending at byte 419495936, but the file has only 1065536 bytes: it is truncated, or not the file the label describes`,
    );
    const cut = path.join(tmp.dir, "cut.cub");
    fs.writeFileSync(cut, fs.readFileSync(CUBE_0297).subarray(0, 500_000));
    expect((await imageError(openImage(cut))).message).toMatch(/500 × 500 × 1 Real pixels in Tile format .*but the file has only 500000 bytes/);
  });

  it("a detached label whose data file is missing names the data file", async () => {
    const lbl = path.join(tmp.dir, "orphan.lbl");
    fs.writeFileSync(lbl, cubeLabel({ width: 2, height: 2, type: "Real", format: "BandSequential", raw: () => 0 }, 1, "    ^Core = orphan-data.cub"));
    expect((await imageError(openImage(lbl))).message).toMatch(new RegExp(`orphan-data\\.cub: cannot open: ENOENT`));
  });

  it.each<[string, string, RegExp]>([
    ["unsupported Type", "Type       = Real", /IsisCube > Core > Pixels > Type = Double is not supported: supported are UnsignedByte, SignedWord, UnsignedWord, Real/],
    ["bad Samples", "Samples = 4", /IsisCube > Core > Dimensions > Samples must be a positive integer, found "many"/],
    ["bad ByteOrder", "ByteOrder  = Lsb", /IsisCube > Core > Pixels > ByteOrder must be Lsb or Msb, found middle/],
    ["missing TileSamples", "TileSamples = 2", /the label has no IsisCube > Core > TileSamples/],
  ])("%s", async (_what, line, message) => {
    const spec: CubeSpec = { width: 4, height: 4, type: "Real", tile: [2, 2], raw: () => 1, startByte: 2001 };
    const replaced = cubeLabel(spec, 2001)
      .replace("Type       = Real", line === "Type       = Real" ? "Type       = Double" : "Type       = Real")
      .replace("Samples = 4", line === "Samples = 4" ? "Samples = many" : "Samples = 4")
      .replace("ByteOrder  = Lsb", line === "ByteOrder  = Lsb" ? "ByteOrder  = middle" : "ByteOrder  = Lsb")
      .replace(/\n\s*TileSamples = 2/, line === "TileSamples = 2" ? "" : "\n    TileSamples = 2");
    const file = path.join(tmp.dir, `bad-${line.replace(/\W+/g, "")}.cub`);
    fs.writeFileSync(file, Buffer.concat([Buffer.from(replaced), Buffer.alloc(2000 - replaced.length), Buffer.alloc(4 * 4 * 4)]));
    expect((await imageError(openImage(file))).message).toMatch(message);
  });

  it("files that are not images, and reads after close()", async () => {
    const text = path.join(tmp.dir, "notes.txt");
    fs.writeFileSync(text, "just some notes\n");
    await expect(openImage(text)).rejects.toThrow(/notes\.txt: PVL line 1: expected '=' after 'just'/);
    const jpeg = path.join(tmp.dir, "photo.jpg");
    fs.writeFileSync(jpeg, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]));
    expect((await imageError(openImage(jpeg))).message).toMatch(/photo\.jpg: neither a GeoTIFF nor an ISIS3 cube or label \(first bytes: ff d8 ff e0\)/);
    const pds = path.join(tmp.dir, "pds3.img");
    fs.writeFileSync(pds, "PDS_VERSION_ID = PDS3\nEND\n");
    expect((await imageError(openImage(pds))).message).toMatch(/no 'Object = IsisCube' in the label: not an ISIS3 cube \(this is a PDS3 label/);
    const im = await openImage(CUBE_0297);
    await im.close();
    expect((await imageError(im.read())).message).toBe(`${CUBE_0297}: read() after close()`);
  });
});
