import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkCandidateGraph } from "../src/graph";
import { addImages } from "../src/graph/load";
import { loadStoredGeoreference } from "../src/image/georeference";
import { openImage } from "../src/image";
import { loadGroundTruth, recordGroundTruth, syntheticCampaign, trueMeasure, truePixel, type SyntheticCampaign } from "../src/synthetic";
import { testConfig } from "./helpers";

// Images from files into the graph: footprint, size, georeference and serial read from the file; the ground
// truth of a synthetic campaign kept in the database.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acn-images-"));
const APOLLO = path.join(__dirname, "fixtures", "apollo15");
let ncg: NetworkCandidateGraph;
let campaign: SyntheticCampaign;

beforeAll(async () => {
  campaign = await syntheticCampaign({ frames: 3, size: 96, seed: 7, outDir: path.join(tmp, "campaign"), prefix: "ig", supersample: 2 });
  ncg = await NetworkCandidateGraph.connect(testConfig({ database: { embedded: path.join(tmp, "db") } }), { sentinel: false, watcher: false, log: () => {} });
}, 120_000);

afterAll(async () => {
  await ncg?.clearQueues();
  await ncg?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("images from files", () => {
  it("addImages(paths): footprint, size, format, georeference and serial come from each GeoTIFF; overlaps become edges", async () => {
    const report = await ncg.addImages(campaign.frames.map((f) => f.path));
    expect(report).toEqual({ added: 3, updated: 0, ignored: [] });
    const rows = await ncg.db.query<{ name: string; format: string; width: number; height: number; bands: number; serial: string; georef: string; path: string }>(
      "SELECT name, format, width, height, bands, serial, georef, path FROM images WHERE name LIKE 'ig_%' ORDER BY name");
    expect(rows.map((r) => [r.name, r.format, r.width, r.height, r.bands, r.serial, r.path]))
      .toEqual(campaign.frames.map((f) => [f.name, "geotiff", 96, 96, 1, f.name, f.path]));
    // the stored georeference is the file's (the a-priori map), exactly
    for (const [i, r] of rows.entries()) {
      const geo = loadStoredGeoreference(r.georef);
      const want = campaign.frames[i]!.aprioriAffine;
      geo.coefficients.forEach((c, k) => expect(c).toBeCloseTo(want[k]!, 12));
      expect(geo.radius).toBe(campaign.radius);
    }
    await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'ig_%' ORDER BY id");
    const byName = new Map([...ncg.nodes.values()].map((n) => [n.name, n.id]));
    const pairs = [...ncg.edges.values()].map((e) => [ncg.node(e.source)!.name, ncg.node(e.destination)!.name].sort().join("+")).sort();
    expect(pairs).toEqual(["ig_0+ig_1", "ig_1+ig_2"]);   // ~40 % overlap between neighbours, none between the ends
    const e = ncg.edge(byName.get("ig_0")!, byName.get("ig_1")!)!;
    const fp = ncg.node(byName.get("ig_0")!)!.footprint!;
    // the overlap is a sizeable part of a frame (0.3–0.5 of it)
    const frameArea = Math.abs(ringArea(fp[0]![0]!));
    expect(e.overlapArea / frameArea).toBeGreaterThan(0.3);
    expect(e.overlapArea / frameArea).toBeLessThan(0.5);
  });

  it("adding the same files again updates them (no duplicates)", async () => {
    expect(await ncg.addImages(campaign.frames.map((f) => f.path))).toEqual({ added: 0, updated: 3, ignored: [] });
  });

  it("ground truth in the database gives any measure's true position in another image", async () => {
    expect(await recordGroundTruth(ncg.db, campaign)).toBe(3);
    const truth = await loadGroundTruth(ncg.db);
    const [a, b] = campaign.frames;
    for (const p of [{ x: 80, y: 10 }, { x: 70.25, y: 50.5 }]) {
      const fromDb = trueMeasure(truth, a!.name, p, b!.name);
      const direct = truePixel(a!, p, b!);
      expect(fromDb.x).toBeCloseTo(direct.x, 9);
      expect(fromDb.y).toBeCloseTo(direct.y, 9);
    }
    expect(() => trueMeasure(truth, a!.name, { x: 1, y: 1 }, "nope")).toThrow(/no ground truth recorded for image 'nope'/);
  });

  it("a cube without georeference is stored ignored with a reason that says what to do; with a .georef.json sidecar it is placed", async () => {
    const cube = path.join(tmp, "AS15-M-0297_crop.cub");
    fs.copyFileSync(path.join(APOLLO, "AS15-M-0297_crop.cub"), cube);
    const bare = await ncg.addImages([cube]);
    expect(bare.ignored).toEqual([{ name: "AS15-M-0297_crop", reason: expect.stringMatching(/no georeference.*georef\.json/) }]);
    // an a-priori georeference beside it: 10 m pixels near (lon 0, lat 26)
    const deg = 10 / (1737400 * Math.PI / 180);
    fs.writeFileSync(`${cube}.georef.json`, JSON.stringify({ affine: [deg, 0, 0, 0, -deg, 26], radius: 1737400 }));
    const placed = await ncg.addImages([{ name: "AS15-M-0297_crop", path: cube }]);
    expect(placed).toEqual({ added: 0, updated: 1, ignored: [] });
    const [row] = await ncg.db.query<{ serial: string; ignore: boolean; width: number; footprint: string }>(
      "SELECT serial, ignore, width, footprint FROM images WHERE name = 'AS15-M-0297_crop'");
    const img = await openImage(cube);
    await img.close();
    expect(row).toMatchObject({ ignore: false, width: img.width });
    // ISIS serial from the Instrument group: spacecraft / instrument / start time
    expect(row!.serial).toMatch(/^APOLLO ?15\/METRIC\/1971-/i);
    const ring = (JSON.parse(row!.footprint) as { coordinates: number[][][][] }).coordinates[0]![0]!;
    const lons = ring.map((p) => p[0]!), lats = ring.map((p) => p[1]!);
    expect(Math.min(...lons)).toBeCloseTo(-0.5 * deg, 9);
    expect(Math.max(...lons)).toBeCloseTo((img.width - 0.5) * deg, 9);
    expect(Math.max(...lats)).toBeCloseTo(26 + 0.5 * deg, 9);
  });
});

function ringArea(ring: number[][]): number {
  let s = 0;
  for (let i = 0; i + 1 < ring.length; i++) s += ring[i]![0]! * ring[i + 1]![1]! - ring[i + 1]![0]! * ring[i]![1]!;
  return s / 2;
}

describe("warnings at scale", () => {
  it("2 000 images with bad footprints print one line per reason with a count and the first names, not 2 000 lines", async () => {
    const logs: string[] = [];
    const images = [
      ...Array.from({ length: 1500 }, (_, i) => ({ name: `bow-${i}`, footprint: { type: "Polygon", coordinates: [[[20, 20], [21, 21], [21, 20], [20, 21], [20, 20]]] } })),
      ...Array.from({ length: 500 }, (_, i) => ({ name: `empty-${i}`, footprint: "POLYGON EMPTY" })),
      ...Array.from({ length: 3 }, (_, i) => ({ name: `nofile-${i}`, path: path.join(tmp, `missing-${i}.tif`) })),
      { name: "fine", footprint: "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))" },
    ];
    const report = await addImages(ncg.db, images as never, (l) => logs.push(l));
    expect(report.ignored.length).toBe(2003);
    expect(logs).toHaveLength(3);
    expect(logs[0]).toMatch(/^1500 images: invalid footprint \(self-intersecting ring\) \(bow-0, bow-1, bow-2, … \(1497 more\)\); stored with ignore = true/);
    expect(logs[1]).toMatch(/^500 images: invalid footprint \(empty footprint\) \(empty-0, empty-1, empty-2, … \(497 more\)\)/);
    expect(logs[2]).toMatch(/^3 images: cannot read …: .* \(nofile-0, nofile-1, nofile-2\)/);
    // every reason stays in the database
    const [n] = await ncg.db.query<{ n: string }>("SELECT count(*) AS n FROM images WHERE ignore AND (name LIKE 'bow-%' OR name LIKE 'empty-%' OR name LIKE 'nofile-%')");
    expect(Number(n!.n)).toBe(2003);
  }, 120_000);
});

describe("areas in km²", () => {
  it("footprints and overlaps get km² on the body's sphere beside square degrees (radius from the images' georeference)", async () => {
    await ncg.loadFromDatabase("SELECT * FROM images WHERE name LIKE 'ig_%' ORDER BY id");
    const R = campaign.radius;
    for (const n of ncg.nodes.values()) {
      // a 96 px frame of ~100 m pixels (±2 %) covers about 9.6 km × 9.6 km
      expect(n.areaKm2!).toBeGreaterThan(0.9 * 9.6 * 9.6);
      expect(n.areaKm2!).toBeLessThan(1.1 * 9.6 * 9.6);
    }
    for (const e of ncg.edges.values()) {
      // square degrees × (R π/180)² × cos(lat): the same area, near the equator
      const lat = ncg.node(e.source)!.footprint![0]![0]![0]![1]!;
      const approx = e.overlapArea * (R * Math.PI / 180 / 1000) ** 2 * Math.cos(lat * Math.PI / 180);
      expect(e.overlapAreaKm2! / approx).toBeCloseTo(1, 3);
    }
    const map = ncg.footprintMap();
    expect(map.html).toMatch(/overlaps [\d.]+ km² in all/);
    expect(map.html).toMatch(/edge \d+–\d+: not run, overlap [\d.]+ km² \([\d.]+ deg²\)/);
  });

  it("footprint-only images take the radius from the config's spatial.semimajor_rad (AutoCNet's key)", async () => {
    const { loadConfig } = await import("../src/config");
    const warnings: string[] = [];
    const cfg = loadConfig({ spatial: { semimajor_rad: 3396190, semiminor_rad: 3376200, proj4_str: "+proj=longlat +a=3396190" } }, { onWarning: (w) => warnings.push(w) });
    expect(cfg.spatial?.semimajor_rad).toBe(3396190);
    expect(warnings).toEqual([]);
    const { loadGraph } = await import("../src/graph/load");
    const { nodes } = await loadGraph(ncg.db, "SELECT * FROM images WHERE name = 'fine'", [], () => {}, cfg.spatial?.semimajor_rad);
    const [fine] = nodes.values();
    expect(fine!.areaKm2! / ((Math.PI * 3396190 / 180 / 1000) ** 2)).toBeCloseTo(1, 3);   // 1° × 1° near the equator of Mars
  });

  it("areaKm2 of a 1° × 1° square at the equator of the Moon is (π R / 180)² within 0.01 %", async () => {
    const { areaKm2 } = await import("../src/geometry/polygons");
    const R = 1737400;
    const got = areaKm2([[[[0, -0.5], [1, -0.5], [1, 0.5], [0, 0.5], [0, -0.5]]]], R);
    const want = (Math.PI * R / 180 / 1000) ** 2 * (Math.sin(0.5 * Math.PI / 180) * 2) / (Math.PI / 180);
    expect(Math.abs(got / want - 1)).toBeLessThan(1e-4);
  });
});
