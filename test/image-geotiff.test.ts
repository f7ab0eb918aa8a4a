import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AffineGeoreference, DEFAULT_RADIUS_M, ImageError, geoTiffGeoreference, openImage, type GeoTiffImage, type GeoTiffLabel,
  type Image,
} from "../src/image";
import { APOLLO, HAVE_GDAL, NO_GDAL_REASON, gdal, gdalInfo, gdalValues, samplePoints, tempDir } from "./fixtures/images/gdal-tools";

const CUBE = path.join(APOLLO, "AS15-M-0297_crop.cub");
const tmp = tempDir("acn-geotiff-");
afterAll(() => tmp.remove());

async function imageError(p: Promise<unknown>): Promise<ImageError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  if (e instanceof ImageError) return e;
  throw new Error(`expected an ImageError, got ${String(e)}`);
}

async function withImage<T>(file: string, fn: (im: Image) => Promise<T>, options?: { radius?: number }): Promise<T> {
  const im = await openImage(file, options);
  try {
    return await fn(im);
  } finally {
    await im.close();
  }
}

/** gdal_translate from the Apollo cube (band 1, no mask) into a GeoTIFF in the temp dir. */
function translate(name: string, args: string[], source = CUBE): string {
  const out = path.join(tmp.dir, name);
  gdal("gdal_translate", ["-q", "-of", "GTiff", "-mask", "none", ...args, source, out]);
  return out;
}

/** GDAL's reading with its nodata as NaN (the value GDAL carried over from the source or was given). */
function gdalReading(file: string, points: Array<[number, number]>, band = 1, float = false): number[] {
  const nd = (gdalInfo(file).bands[band - 1] as { noDataValue?: number }).noDataValue;
  return gdalValues(file, points, band).map((v) => (float ? Math.fround(v) : v)).map((v) => (nd !== undefined && v === (float ? Math.fround(nd) : nd) ? NaN : v));
}

function gdalTransform(file: string, srs: string, pts: Array<[number, number]>): number[][] {
  const out = execFileSync("gdaltransform", ["-t_srs", srs, file], { input: pts.map((p) => p.join(" ")).join("\n") + "\n", encoding: "utf8" });
  return out.trim().split("\n").map((l) => l.trim().split(/\s+/).map(Number));
}

describe.skipIf(!HAVE_GDAL)(`GeoTIFFs written by GDAL read as GDAL reads them (${HAVE_GDAL ? "gdallocationinfo" : NO_GDAL_REASON})`, () => {
  const scale = (ot: string): string[] =>
    ({ Byte: ["-scale", "0", "20000", "1", "255"], UInt16: ["-scale", "0", "20000", "0", "65535"], Int16: ["-scale", "0", "20000", "-32768", "32767"], Float32: [] })[ot]!;
  const layouts: Array<[string, string[]]> = [
    ["strips of 7 rows", ["-co", "BLOCKYSIZE=7"]],
    ["64 × 32 tiles, deflate", ["-co", "TILED=YES", "-co", "BLOCKXSIZE=64", "-co", "BLOCKYSIZE=32", "-co", "COMPRESS=DEFLATE"]],
    ["LZW strips with predictor, BigTIFF", ["-co", "COMPRESS=LZW", "-co", "PREDICTOR=2", "-co", "BIGTIFF=YES"]],
  ];
  const cases = ["Byte", "UInt16", "Int16", "Float32"].flatMap((ot) => layouts.map(([what, co]) => [`${ot}, ${what}`, ot, co] as const));

  it.each(cases)("%s: sampled pixels, windows, label summary", async (name, ot, co) => {
    const file = translate(`${name.replace(/\W+/g, "_")}.tif`, ["-b", "1", "-ot", ot, ...scale(ot), ...co]);
    const points = samplePoints(500, 500, 24, name.length);
    const theirs = gdalReading(file, points, 1, ot === "Float32");
    await withImage(file, async (im) => {
      expect(im.format).toBe("geotiff");
      expect([im.width, im.height, im.bands]).toEqual([500, 500, 1]);
      const label = (im as GeoTiffImage).label;
      expect(label.dataType).toBe({ Byte: "uint8", UInt16: "uint16", Int16: "int16", Float32: "float32" }[ot]);
      expect(label.tiled).toBe(co.includes("TILED=YES"));
      if (label.tiled) expect([label.blockWidth, label.blockHeight]).toEqual([64, 32]);
      else if (co.includes("BLOCKYSIZE=7")) expect(label.blockHeight).toBe(7);
      const all = await im.read();
      expect(points.map(([x, y]) => all.data[y * 500 + x])).toEqual(theirs);
      const w = { x: 61, y: 95, width: 130, height: 71 }; // crosses tile and strip boundaries
      const part = await im.read(w);
      for (let y = 0; y < w.height; y++) for (let x = 0; x < w.width; x++) expect(part.data[y * w.width + x]).toBe(all.data[(w.y + y) * 500 + w.x + x]);
    });
  });

  it("several bands, pixel- and band-interleaved", async () => {
    for (const interleave of ["PIXEL", "BAND"]) {
      const file = translate(`bands-${interleave}.tif`, [
        "-b", "1", "-b", "1", "-b", "1", "-ot", "UInt16", "-scale_1", "0", "20000", "0", "1000", "-scale_2", "0", "20000", "0", "60000",
        "-scale_3", "0", "20000", "60000", "0", "-co", `INTERLEAVE=${interleave}`, "-co", "TILED=YES",
      ]);
      const points = samplePoints(500, 500, 12);
      await withImage(file, async (im) => {
        expect(im.bands).toBe(3);
        for (let b = 0; b < 3; b++) {
          const theirs = gdalReading(file, points, b + 1);
          const r = await im.read({ x: 0, y: 0, width: 500, height: 500 }, b);
          expect(points.map(([x, y]) => r.data[y * 500 + x]), `band ${b} ${interleave}`).toEqual(theirs);
        }
        expect((await imageError(im.read(undefined, 3))).message).toBe(`${file}: band 3 does not exist: the image has 3 bands (0-based: 0..2)`);
      });
    }
  });

  it("nodata pixels are NaN (integer nodata, and a float32 nodata compared as float32)", async () => {
    const ints = translate("nodata-int16.tif", ["-b", "1", "-ot", "Int16", "-scale", "0", "20000", "0", "6", "-a_nodata", "5"]);
    const points = samplePoints(500, 500, 200);
    const theirs = gdalValues(ints, points);
    await withImage(ints, async (im) => {
      expect((im as GeoTiffImage).label.noData).toBe(5);
      const all = await im.read();
      const ours = points.map(([x, y]) => all.data[y * 500 + x]!);
      expect(theirs.filter((v) => v === 5).length).toBeGreaterThan(0);
      theirs.forEach((v, i) => (v === 5 ? expect(ours[i]).toBeNaN() : expect(ours[i]).toBe(v)));
    });
    // ISIS's NULL as a float32 nodata (-3.4028226550889045e+38 is not exactly a float32; its rounding is), and -inf
    // (GDAL writes it as the text "-inf").
    for (const nodata of ["-3.4028226550889045e+38", "-inf"]) {
      const painted = paint(`nodata${nodata}`, [[10, 10], [11, 10], [12, 10], [10, 11], [11, 11], [12, 11]], nodata === "-inf" ? -Infinity : Number(nodata), nodata);
      await withImage(painted, async (im) => {
        expect((im as GeoTiffImage).label.noData).toBe(nodata === "-inf" ? -Infinity : -3.4028226550889045e38);
        const r = await im.read({ x: 9, y: 10, width: 5, height: 2 });
        expect(Array.from(r.data).map((v) => Number.isNaN(v)), nodata).toEqual([false, true, true, true, false, false, true, true, true, false]);
        expect(r.data[0]).toBe(Math.fround(gdalValues(painted, [[9, 10]])[0]!));
        expect(gdalValues(painted, [[10, 10]])[0]).toBe(nodata === "-inf" ? -Infinity : Number("-3.40282265508890e+38"));
      });
    }
  });

  /** A float32 GeoTIFF of the cube with `value` written at `pixels`, through an editable raw (ENVI) copy. */
  function paint(name: string, pixels: Array<[number, number]>, value: number, nodata: string): string {
    const raw = path.join(tmp.dir, `${name.replace(/\W+/g, "_")}.img`);
    gdal("gdal_translate", ["-q", "-of", "ENVI", "-b", "1", "-ot", "Float32", CUBE, raw]);
    const bytes = fs.readFileSync(raw);
    const f = new Float32Array(bytes.buffer, bytes.byteOffset, 250_000);
    for (const [x, y] of pixels) f[y * 500 + x] = value;
    fs.writeFileSync(raw, bytes);
    const out = raw.replace(/\.img$/, ".tif");
    gdal("gdal_translate", ["-q", "-of", "GTiff", "-a_nodata", nodata, raw, out]);
    return out;
  }

  describe("georeference equals GDAL's", () => {
    it.each<[string, string[]]>([
      ["geographic on Mars, PixelIsArea (ModelTiepoint + ModelPixelScale)", ["-a_srs", "+proj=longlat +R=3396190 +no_defs", "-a_ullr", "10", "20", "15", "15"]],
      ["WGS 84, PixelIsPoint", ["-a_srs", "EPSG:4326", "-mo", "AREA_OR_POINT=Point", "-a_ullr", "-120", "40", "-119", "39.5"]],
    ])("%s", async (name, args) => {
      const file = translate(`${name.replace(/\W+/g, "_")}.tif`, ["-b", "1", ...args]);
      const gt = gdalInfo(file).geoTransform as unknown as [number, number, number, number, number, number];
      await withImage(file, async (im) => {
        const geo = im.georeference as AffineGeoreference;
        expect(geo).toBeInstanceOf(AffineGeoreference);
        const want = AffineGeoreference.fromGdalGeoTransform(gt, geo.radius).coefficients;
        geo.coefficients.forEach((c, i) => expect(c, `coefficient ${i}`).toBeCloseTo(want[i]!, 12));
        expect(geo.radius).toBe(args.includes("EPSG:4326") ? 6378137 : 3396190);
      });
    });

    it("PixelIsPoint shifts by half a pixel: the first pixel's centre is the tiepoint", async () => {
      const file = translate("point.tif", ["-b", "1", "-a_srs", "EPSG:4326", "-mo", "AREA_OR_POINT=Point", "-a_ullr", "10", "20", "15", "15"]);
      await withImage(file, async (im) => {
        expect((im as GeoTiffImage).label.rasterType).toBe("PixelIsPoint");
        // GDAL kept the corner at (10, 20) and wrote the centre (10.005, 19.995) as the PixelIsPoint tiepoint
        expect((im as GeoTiffImage).label.modelTiepoint!.slice(3, 5)).toEqual([10.005, 19.995]);
        const p = im.georeference!.pixelToGround(0, 0);
        expect(p.lon).toBeCloseTo(10.005, 12);
        expect(p.lat).toBeCloseTo(19.995, 12);
      });
    });

    it("a rotated geotransform (ModelTransformation)", async () => {
      const vrt = path.join(tmp.dir, "rotated.vrt");
      gdal("gdal_translate", ["-q", "-of", "VRT", "-b", "1", "-a_srs", "+proj=longlat +R=1737400 +no_defs", "-a_ullr", "0", "1", "1", "0", CUBE, vrt]);
      fs.writeFileSync(vrt, fs.readFileSync(vrt, "utf8").replace(/<GeoTransform>.*<\/GeoTransform>/, "<GeoTransform>10, 0.01, 0.002, 20, 0.001, -0.01</GeoTransform>"));
      const file = translate("rotated.tif", [], vrt);
      await withImage(file, async (im) => {
        expect((im as GeoTiffImage).label.modelTransformation).toHaveLength(16);
        const geo = im.georeference as AffineGeoreference;
        const want = AffineGeoreference.fromGdalGeoTransform([10, 0.01, 0.002, 20, 0.001, -0.01], 1737400).coefficients;
        geo.coefficients.forEach((c, i) => expect(c).toBeCloseTo(want[i]!, 12));
        expect(geo.toGdalGeoTransform().map((v) => +v.toFixed(12))).toEqual([10, 0.01, 0.002, 20, 0.001, -0.01]);
      });
    });

    it("an equirectangular (eqc) projected GeoTIFF: lon/lat of pixel centres as gdaltransform computes them", async () => {
      const srs = "+proj=eqc +lat_ts=30 +lat_0=10 +lon_0=120 +x_0=1000 +y_0=2000 +R=1737400 +units=m +no_defs";
      const file = translate("eqc.tif", ["-b", "1", "-a_srs", srs, "-a_ullr", "-100000", "50000", "100000", "-150000"]);
      const pts: Array<[number, number]> = [[0, 0], [499, 0], [0, 499], [499, 499], [123, 321]];
      const theirs = gdalTransform(file, "+proj=longlat +R=1737400 +no_defs", pts.map(([x, y]) => [x + 0.5, y + 0.5]));
      await withImage(file, async (im) => {
        const geo = im.georeference!;
        expect(geo.radius).toBe(1737400);
        pts.forEach(([x, y], i) => {
          const g = geo.pixelToGround(x, y);
          expect(g.lon, `lon (${x}, ${y})`).toBeCloseTo(theirs[i]![0]!, 9);
          expect(g.lat, `lat (${x}, ${y})`).toBeCloseTo(theirs[i]![1]!, 9);
        });
      });
    });

    it("a UTM GeoTIFF has no georeference and says why", async () => {
      const file = translate("utm.tif", ["-b", "1", "-a_srs", "EPSG:32633", "-a_ullr", "500000", "4000000", "600000", "3900000"]);
      await withImage(file, async (im) => {
        expect(im.georeference).toBeUndefined();
        expect(im.georeferenceProblem).toBe("projected coordinates (EPSG:32633): only geographic and equirectangular (eqc) GeoTIFFs are supported");
      });
    });

    it("a TIFF without georeferencing uses its .georef.json sidecar", async () => {
      const file = translate("plain.tif", ["-b", "1", "-co", "PROFILE=BASELINE"]);
      await withImage(file, async (im) => expect(im.georeference).toBeUndefined());
      fs.writeFileSync(`${file}.georef.json`, JSON.stringify({ affine: [1, 0, 0, 0, -1, 0], radius: 3396190 }));
      await withImage(file, async (im) => {
        expect(im.georeference).toBeInstanceOf(AffineGeoreference);
        expect(im.georeference!.pixelToGround(3, 4)).toEqual({ lon: 3, lat: -4 });
      });
    });
  });

  it("a truncated GeoTIFF fails at open instead of reading zeros", async () => {
    const file = translate("whole.tif", ["-b", "1", "-co", "TILED=YES"]);
    const cut = path.join(tmp.dir, "cut.tif");
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 500_000));
    expect((await imageError(openImage(cut))).message).toMatch(/cut\.tif: tile \d+ ends at byte \d+ but the file has only 500000 bytes: it is truncated/);
  });

  it("a window outside the image names the window and the size", async () => {
    const file = translate("small.tif", ["-b", "1", "-srcwin", "0", "0", "40", "30"]);
    await withImage(file, async (im) => {
      expect((await imageError(im.read({ x: 30, y: 25, width: 10, height: 10 }))).message).toBe(
        `${file}: window {x: 30, y: 25, width: 10, height: 10} is outside the 40 × 30 image (y + height = 35 > 30)`,
      );
    });
  });
});

describe("geoTiffGeoreference on tag sets GDAL does not write", () => {
  const base: GeoTiffLabel = {
    width: 10, height: 10, samplesPerPixel: 1, dataType: "uint8", bitsPerSample: [8], tiled: false, blockWidth: 10, blockHeight: 10,
    compression: 1, planarConfiguration: 1, noData: null, rasterType: "PixelIsArea", images: 1,
    modelTiepoint: [0, 0, 0, 100, 50, 0], modelPixelScale: [0.5, 0.25, 0], geoKeys: { GTModelTypeGeoKey: 2 },
  };

  it("the radius: the caller's when the file has none, else the documented default (the Moon)", () => {
    expect(geoTiffGeoreference(base, { radius: 3396190 }).georeference!.radius).toBe(3396190);
    expect(geoTiffGeoreference(base).georeference!.radius).toBe(DEFAULT_RADIUS_M);
    expect(DEFAULT_RADIUS_M).toBe(1737400);
    expect(geoTiffGeoreference({ ...base, geoKeys: { GTModelTypeGeoKey: 2, GeogSemiMajorAxisGeoKey: 2439700 } }, { radius: 1 }).georeference!.radius).toBe(2439700);
    expect(geoTiffGeoreference({ ...base, geoKeys: { GTModelTypeGeoKey: 2, GeographicTypeGeoKey: 4326 } }).georeference!.radius).toBe(6378137);
  });

  it("a tiepoint at another pixel, PixelIsArea: model point = the corner of that pixel", () => {
    const g = geoTiffGeoreference({ ...base, modelTiepoint: [4, 2, 0, 100, 50, 0] }).georeference!;
    // raster position (4, 2) is the top-left corner of our pixel (4, 2), whose centre is (4.5, 2.5) in raster space
    expect(g.pixelToGround(4, 2)).toEqual({ lon: 100.25, lat: 49.875 });
  });

  it("radians, ground control points, unknown systems", () => {
    const rad = geoTiffGeoreference({ ...base, geoKeys: { GTModelTypeGeoKey: 2, GeogAngularUnitsGeoKey: 9101 }, modelTiepoint: [0, 0, 0, Math.PI, 0, 0], modelPixelScale: [0.01, 0.01, 0] });
    expect(rad.georeference!.pixelToGround(-0.5, -0.5).lon).toBeCloseTo(180, 12);
    expect(geoTiffGeoreference({ ...base, modelPixelScale: undefined, modelTiepoint: [0, 0, 0, 1, 2, 0, 9, 9, 0, 3, 4, 0] }).problem).toBe(
      "2 ground control points (tiepoints without a pixel scale): only affine georeferencing is supported",
    );
    expect(geoTiffGeoreference({ ...base, geoKeys: null }).problem).toMatch(/without a GeoKeyDirectory: the coordinate system is unknown/);
    expect(geoTiffGeoreference({ ...base, geoKeys: { GTModelTypeGeoKey: 3 } }).problem).toMatch(/GTModelTypeGeoKey 3: only geographic \(2\) and projected \(1\)/);
    expect(geoTiffGeoreference({ ...base, modelTiepoint: undefined, modelPixelScale: undefined })).toEqual({});
  });
});

describe("not GeoTIFFs", () => {
  it("a .tif that is not a TIFF is named with its first bytes", async () => {
    const file = path.join(tmp.dir, "fake.tif");
    fs.writeFileSync(file, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect((await imageError(openImage(file))).message).toMatch(/fake\.tif: neither a GeoTIFF nor an ISIS3 cube or label \(first bytes: 89 50 4e 47\)/);
  });

  it("a file with a TIFF signature and garbage after it", async () => {
    const file = path.join(tmp.dir, "garbage.tif");
    fs.writeFileSync(file, Buffer.from([0x49, 0x49, 0x2a, 0x00, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    expect((await imageError(openImage(file))).message).toMatch(/garbage\.tif: (cannot open as a GeoTIFF: |not a readable TIFF image: its first directory has no ImageWidth, ImageLength, BitsPerSample)/);
  });
});

beforeAll(() => {
  if (!HAVE_GDAL) console.warn(`GeoTIFF comparisons skipped: ${NO_GDAL_REASON}`);
});
