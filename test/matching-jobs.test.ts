import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromIsisSampleLine, readControlNetwork, readImageList } from "../src/controlnet";
import type { ControlNetwork } from "../src/controlnet";
import { NetworkCandidateGraph } from "../src/graph";
import type { MeasureRecord, PointRecord } from "../src/graph/control-network";
import { loadStoredGeoreference } from "../src/image/georeference";
import {
  computeFundamentalJob, computeHomographyJob, decodeDescriptors, decodeKeypoints, encodeDescriptors, encodeKeypoints, extractFeaturesJob, matchJob,
  placePointsJob, RING_MATCH_LADDER, ringMatchPolicy, subpixelRegisterPointJob,
} from "../src/jobs/matching";
import type { JobMessage } from "../src/queue/message";
import { loadGroundTruth, recordGroundTruth, syntheticCampaign, trueMeasure, type GroundTruthRow, type SyntheticCampaign } from "../src/synthetic";
import { applyHomography, sampsonDistance } from "../src/vision";
import type { JobContext } from "../src/worker/registry";
import { testConfig } from "./helpers";

// The matching pipeline as jobs, on a synthetic campaign with exact ground truth: 4 frames of 160 × 160 px in a
// 2 × 2 grid (50 % overlap between neighbours, so there are pairs, triples and a quadruple overlap), whose stored
// georeferences are off by ~5 px. The chain runs through real worker processes (ncg.apply, local backend, the
// embedded database served to them); the unit-level checks call the job functions directly with a JobContext.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "acn-matching-"));
let ncg: NetworkCandidateGraph;
let campaign: SyntheticCampaign;
let truth: Map<string, GroundTruthRow>;
const names = new Map<number, string>();

/** Kwargs of the chain, sized for 160 px frames (the defaults suit real images of a few thousand pixels). */
const PLACE = { spacing: 12, size: 13, margin: 22 };
const REGISTER = { template_size: 25, search_size: 41 };

let direct = 0;
const ctx = (id: JobContext["id"], kwargs: Record<string, unknown> = {}, along?: string): JobContext => ({
  message: {} as JobMessage, jobId: `direct-${direct++}`, id, along: along ?? (Array.isArray(id) ? "edge" : "node"), args: [], kwargs, attempt: 1,
  signal: new AbortController().signal, db: ncg.db, redis: ncg.redisQueue, config: ncg.config, log: () => {},
});

const edgeList = () => [...ncg.edges.values()].map((e) => [e.source, e.destination] as [number, number]);
const rmsOf = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length);

/** For every registered (non-reference, not ignored) measure: its distance to the truth, from the reference measure. */
function registrationErrors(points: PointRecord[], measures: MeasureRecord[]): { errors: number[]; total: number; accepted: number } {
  const byPoint = groupByPoint(measures);
  const errors: number[] = [];
  let total = 0;
  for (const p of points) {
    const list = byPoint.get(p.id) ?? [];
    const ref = list[p.referenceIndex]!;
    for (const m of list) {
      if (m === ref) continue;
      total++;
      if (m.ignore) continue;
      const t = trueMeasure(truth, names.get(ref.imageId)!, { x: ref.sample, y: ref.line }, names.get(m.imageId)!);
      errors.push(Math.hypot(m.sample - t.x, m.line - t.y));
    }
  }
  return { errors, total, accepted: errors.length };
}

function groupByPoint(measures: MeasureRecord[]): Map<number, MeasureRecord[]> {
  const out = new Map<number, MeasureRecord[]>();
  for (const m of measures) {
    if (!out.has(m.pointId)) out.set(m.pointId, []);
    out.get(m.pointId)!.push(m);
  }
  return out;
}

async function edgeRow(s: number, d: number) {
  const [row] = await ncg.db.query<{ homography: number[] | null; fundamental: number[] | null; ring: number[] | null; masks: string | null; weights: string | null }>(
    "SELECT homography, fundamental, ring, masks, weights FROM edges WHERE source = $1 AND destination = $2", [s, d]);
  return {
    homography: row!.homography?.map(Number) ?? null, fundamental: row!.fundamental?.map(Number) ?? null, ring: row!.ring?.map(Number) ?? null,
    masks: row!.masks ? (JSON.parse(row!.masks) as Record<string, number[]>) : {}, weights: row!.weights ? (JSON.parse(row!.weights) as Record<string, number>) : {},
  };
}

async function matchesOf(s: number, d: number) {
  return (await ncg.db.query<Record<string, unknown>>(
    `SELECT id, source_idx, destination_idx, source_x, source_y, destination_x, destination_y, destination_apriori_x, destination_apriori_y,
            shift_x, shift_y, distance, lat, lon FROM matches WHERE source = $1 AND destination = $2 ORDER BY id`, [s, d]))
    .map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Number(v)])));
}

beforeAll(async () => {
  campaign = await syntheticCampaign({ frames: { columns: 2, rows: 2 }, size: 160, overlap: 0.5, seed: 11, supersample: 2, outDir: path.join(tmp, "campaign"), prefix: "mj" });
  ncg = await NetworkCandidateGraph.connect(testConfig({ database: { embedded: path.join(tmp, "db") }, cluster: { concurrency: 2 }, jobs: [] }), { log: () => {} });
  await ncg.addImages(campaign.frames.map((f) => f.path));
  await ncg.loadFromDatabase();
  for (const n of ncg.nodes.values()) names.set(n.id, n.name);
  await recordGroundTruth(ncg.db, campaign);
  truth = await loadGroundTruth(ncg.db);
}, 120_000);

afterAll(async () => {
  await ncg?.clearQueues();
  await ncg?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe("matching jobs: the whole chain through worker processes", () => {
  it("runs on a 2 × 2 campaign: 4 nodes, 6 overlapping pairs", () => {
    expect(ncg.nodes.size).toBe(4);
    expect(ncg.edges.size).toBe(6);
  });

  it("extract_features (nodes) stores every image's keypoints and descriptors compactly", async () => {
    const job = await ncg.apply("extract_features", { on: "nodes", kwargs: { method: "orb", nfeatures: 2000 } });
    expect(await job.wait({ timeout: 60_000 })).toMatchObject({ total: 4, completed: 4, dead: 0 });
    const rows = await ncg.db.query<{ image_id: number; nkeypoints: number; keypoints: Uint8Array; descriptors: Uint8Array; descriptor_size: number; descriptor_type: string; convex_hull_image: string }>(
      "SELECT image_id, nkeypoints, keypoints, descriptors, descriptor_size, descriptor_type, convex_hull_image FROM keypoints ORDER BY image_id");
    expect(rows.map((r) => Number(r.image_id))).toEqual([...ncg.nodes.keys()].sort((a, b) => a - b));
    for (const r of rows) {
      expect(Number(r.nkeypoints)).toBeGreaterThan(150);
      expect(r.descriptor_type).toBe("uint8");
      expect(Number(r.descriptor_size)).toBe(32);
      expect(r.keypoints.length).toBe(Number(r.nkeypoints) * 24);          // 6 float32 per keypoint
      expect(r.descriptors.length).toBe(Number(r.nkeypoints) * 32);        // ORB: 32 bytes each
      const kps = decodeKeypoints(r.keypoints);
      expect(kps.every((k) => k.x >= 0 && k.x <= 159 && k.y >= 0 && k.y <= 159 && k.size > 0)).toBe(true);
      expect(JSON.parse(r.convex_hull_image).type).toBe("Polygon");
    }
  });

  it("match (edges) stores ratio-test matches with their a-priori positions; compute_homography's inliers fit the truth to under a pixel", async () => {
    const job = await ncg.apply("match", { on: "edges" });
    expect(await job.wait({ timeout: 60_000 })).toMatchObject({ total: 6, completed: 6, dead: 0 });
    for (const [s, d] of edgeList()) {
      const rows = await matchesOf(s, d);
      expect(rows.length).toBeGreaterThanOrEqual(10);
      for (const r of rows) {
        // shift = measured − where the a-priori georeferences put the source feature: the pointing error, a few pixels
        expect(r.shift_x).toBeCloseTo(r.destination_x! - r.destination_apriori_x!, 9);
        expect(r.shift_y).toBeCloseTo(r.destination_y! - r.destination_apriori_y!, 9);
      }
    }
    const h = await ncg.apply("compute_homography", { on: "edges" });
    expect(await h.wait({ timeout: 60_000 })).toMatchObject({ completed: 6, dead: 0 });
    for (const [s, d] of edgeList()) {
      const e = await edgeRow(s, d);
      const rows = await matchesOf(s, d);
      expect(e.homography).toHaveLength(9);
      expect(e.weights.homography_inliers).toBeGreaterThanOrEqual(6);
      expect(e.weights.homography_rms).toBeLessThanOrEqual(1);             // inlier residuals ≤ 1 px (RMS)
      const ids = new Set(rows.map((r) => r.id));
      expect(e.masks.homography!.length).toBe(e.weights.homography_inliers);
      expect(e.masks.homography!.every((id) => ids.has(id))).toBe(true);
      // the fitted model against the truth, at the inliers: where H sends each source feature vs where it truly is
      const inliers = rows.filter((r) => e.masks.homography!.includes(r.id!));
      const off = inliers.map((r) => {
        const p = applyHomography(e.homography!, { x: r.source_x!, y: r.source_y! });
        const t = trueMeasure(truth, names.get(s)!, { x: r.source_x!, y: r.source_y! }, names.get(d)!);
        return Math.hypot(p.x - t.x, p.y - t.y);
      });
      expect(rmsOf(off)).toBeLessThan(1);
    }
  });

  it("compute_fundamental_matrix (edges) stores a rank-2 matrix and its inlier mask; on these affine views it is degenerate, so only consistency is asserted", async () => {
    const job = await ncg.apply("compute_fundamental_matrix", { on: "edges" });
    expect(await job.wait({ timeout: 60_000 })).toMatchObject({ completed: 6, dead: 0 });
    for (const [s, d] of edgeList()) {
      const e = await edgeRow(s, d);
      const rows = await matchesOf(s, d);
      const f = e.fundamental!;
      expect(f).toHaveLength(9);
      expect(Math.hypot(...f)).toBeCloseTo(1, 9);                          // unit Frobenius norm
      const det = f[0]! * (f[4]! * f[8]! - f[5]! * f[7]!) - f[1]! * (f[3]! * f[8]! - f[5]! * f[6]!) + f[2]! * (f[3]! * f[7]! - f[4]! * f[6]!);
      expect(Math.abs(det)).toBeLessThan(1e-9);                             // rank 2
      const ids = new Set(rows.map((r) => r.id));
      expect(e.masks.fundamental!.every((id) => ids.has(id))).toBe(true);
      expect(e.masks.fundamental!.length).toBe(e.weights.fundamental_inliers);
      // every stored inlier satisfies x_dᵀ F x_s = 0 within the 2 px threshold (Sampson distance), and the homography's mask survives
      for (const r of rows.filter((x) => e.masks.fundamental!.includes(x.id!))) {
        expect(sampsonDistance(f, { x: r.source_x!, y: r.source_y! }, { x: r.destination_x!, y: r.destination_y! })).toBeLessThanOrEqual(2);
      }
      expect(e.masks.homography!.length).toBeGreaterThan(0);
    }
  });

  it("place_points_in_overlap (edges): a grid of points in disjoint overlaps, each measured in every image that sees it", async () => {
    const job = await ncg.apply("place_points_in_overlap", { on: "edges", kwargs: PLACE });
    expect(await job.wait({ timeout: 60_000 })).toMatchObject({ completed: 6, dead: 0 });
    const overlays = await ncg.db.query<{ id: number; intersections: number[] }>("SELECT id, intersections FROM overlay ORDER BY id");
    expect(overlays.map((o) => o.intersections.map(Number)).sort()).toEqual(edgeList().sort());
    const points = await ncg.points();
    const measures = await ncg.measures();
    const byPoint = groupByPoint(measures);
    expect(points.length).toBeGreaterThanOrEqual(60);
    const georefs = new Map((await ncg.db.query<{ id: number; georef: string }>("SELECT id, georef FROM images")).map((r) => [Number(r.id), loadStoredGeoreference(r.georef)]));
    let multi = 0;
    const apriori: number[] = [];
    for (const p of points) {
      const list = byPoint.get(p.id)!;
      expect(p.pointType).toBe(2);
      expect(p.identifier).toBe("place_points_in_overlaps");
      expect(p.ignore).toBe(false);
      expect(list.length).toBeGreaterThanOrEqual(2);
      if (list.length > 2) multi++;
      const ref = list[p.referenceIndex]!;
      expect(p.referenceIndex).toBe(0);
      expect(ref.measureType).toBe(2);
      expect(list.slice(1).every((m) => m.measureType === 0)).toBe(true);
      expect(list.every((m) => m.aprioriSample === m.sample && m.aprioriLine === m.line && m.serialNumber === names.get(m.imageId))).toBe(true);
      // a measure in EVERY image whose a-priori pixel is at least `margin` inside it, and in no other
      const g = { lon: p.lon!, lat: p.lat! };
      const expected = [...georefs].filter(([, geo]) => {
        const q = geo.groundToPixel(g.lon, g.lat);
        return q.x >= PLACE.margin && q.y >= PLACE.margin && q.x <= 159 - PLACE.margin && q.y <= 159 - PLACE.margin;
      }).map(([id]) => id).sort();
      expect(list.map((m) => m.imageId).sort()).toEqual(expected);
      for (const m of list) {
        const q = georefs.get(m.imageId)!.groundToPixel(g.lon, g.lat);
        expect(Math.hypot(q.x - m.sample, q.y - m.line)).toBeLessThan(1e-6);
        if (m !== ref) {
          const t = trueMeasure(truth, names.get(ref.imageId)!, { x: ref.sample, y: ref.line }, names.get(m.imageId)!);
          apriori.push(Math.hypot(m.sample - t.x, m.line - t.y));
        }
      }
    }
    expect(multi).toBeGreaterThan(0);                                       // triple/quadruple overlaps are measured in 3–4 images
    expect(rmsOf(apriori)).toBeGreaterThan(2);                              // the a-priori positions are pixels off: registration has work to do
    // overlaps are disjoint: no two points on the same ground (closer than a pixel in any image they share)
    for (let i = 0; i < points.length; i++) {
      for (let j = i + 1; j < points.length; j++) {
        const a = byPoint.get(points[i]!.id)!, b = byPoint.get(points[j]!.id)!;
        for (const m of a) for (const n of b) if (m.imageId === n.imageId) expect(Math.hypot(m.sample - n.sample, m.line - n.line)).toBeGreaterThan(1);
      }
    }
  });

  it("subpixel_register_point (on: 'points') registers ≥ 90 % of the measures to ≤ 0.1 px RMS of the truth", async () => {
    const before = await ncg.points();
    const job = await ncg.apply("subpixel_register_point", { on: "points", kwargs: REGISTER });
    expect(job.targets).toEqual(before.map((p) => p.id));
    expect(await job.wait({ timeout: 60_000 })).toMatchObject({ total: before.length, completed: before.length, dead: 0 });
    // sent along 'point', recorded so, and a point's completion never lands on the node with the same id
    const [apply] = await ncg.db.query<{ along: string }>("SELECT along FROM applies WHERE apply_id = $1", [job.applyId]);
    expect(apply!.along).toBe("point");
    for (const n of ncg.nodes.values()) expect(n.jobStatus.subpixel_register_point).toBeUndefined();

    const points = await ncg.points();
    const measures = await ncg.measures();
    const { errors, total, accepted } = registrationErrors(points, measures);
    const rms = rmsOf(errors);
    const max = Math.max(...errors);
    console.log(`subpixel_register_point: ${accepted}/${total} measures accepted, RMS ${rms.toFixed(4)} px, max ${max.toFixed(4)} px against the truth (${points.length} points)`);
    expect(accepted / total).toBeGreaterThanOrEqual(0.9);
    expect(rms).toBeLessThanOrEqual(0.1);
    expect(max).toBeLessThan(0.5);
    expect(points.filter((p) => !p.ignore).length / points.length).toBeGreaterThanOrEqual(0.9);
    const byPoint = groupByPoint(measures);
    for (const p of points) {
      const list = byPoint.get(p.id)!;
      const ref = list[p.referenceIndex]!;
      expect(ref).toMatchObject({ templateMetric: 1, templateShift: 0, ignore: false, measureType: 2 });
      for (const m of list) {
        if (m === ref) continue;
        if (m.ignore) {
          expect(m.measureType).toBe(0);
          expect([m.sample, m.line]).toEqual([m.aprioriSample, m.aprioriLine]);
        } else {
          // accepted: type 3, AutoCNet's cost = metric / shift² above the threshold, shift = distance moved from the a priori
          expect(m.measureType).toBe(3);
          expect(m.chooserName).toBe("subpixel_register_point");
          expect(m.templateShift).toBeCloseTo(Math.hypot(m.sample - m.aprioriSample!, m.line - m.aprioriLine!), 9);
          expect(m.weight).toBeCloseTo(m.templateMetric! / Math.max(m.templateShift!, 1e-3) ** 2, 6);
          expect(m.weight!).toBeGreaterThan(0.005);
          expect(m.templateMetric!).toBeGreaterThanOrEqual(0.5);
        }
      }
      expect(p.ignore).toBe(list.filter((m) => !m.ignore).length < 2);
    }
  });

  it("toIsis writes the network and its .lis; read back, they equal ncg.points()/measures() converted to ISIS pixels", async () => {
    const file = path.join(tmp, "campaign.net");
    const report = await ncg.toIsis(file, { minPointsPerImage: 0 });
    expect(report.listPath).toBe(path.join(tmp, "campaign.lis"));
    const net = await readControlNetwork(file);
    const points = await ncg.points();
    const measures = groupByPoint(await ncg.measures());
    const paths = new Map(campaign.frames.map((f) => [f.name, f.path]));
    // what the export should hold, from the tables: non-ignored points, their accepted measures, ≥ 2 of them
    const expected: ControlNetwork["points"] = [];
    const images = new Set<number>();
    for (const p of points) {
      if (p.ignore) continue;
      const all = measures.get(p.id)!;
      const kept = all.filter((m) => !m.ignore && !m.jigsawRejected);
      if (kept.length < 2) continue;
      kept.forEach((m) => images.add(m.imageId));
      expected.push({
        id: `place_points_in_overlaps_${p.id}`, type: "free", referenceIndex: kept.indexOf(all[p.referenceIndex]!),
        measures: kept.map((m) => ({
          serialNumber: names.get(m.imageId)!, type: (["candidate", "manual", "registeredPixel", "registeredSubPixel"] as const)[m.measureType]!,
          sample: m.sample + 1, line: m.line + 1, aprioriSample: m.aprioriSample! + 1, aprioriLine: m.aprioriLine! + 1,
          ...(m.chooserName ? { chooserName: m.chooserName } : {}),
        })),
      });
    }
    expect(expected.length).toBeGreaterThan(50);
    expect(net.targetName).toBe("Moon");
    expect(net.points).toEqual(expected);
    // and back: ISIS sample/line − 1 is the table's value exactly
    const first = net.points[0]!.measures[1]!;
    const row = measures.get(Number(net.points[0]!.id.split("_").pop()))!.find((m) => m.serialNumber === first.serialNumber)!;
    expect(fromIsisSampleLine(first.sample, first.line)).toEqual({ x: row.sample, y: row.line });
    expect(report).toMatchObject({ points: expected.length, measures: expected.reduce((n, p) => n + p.measures.length, 0), images: images.size, droppedImages: [] });
    expect(await readImageList(report.listPath)).toEqual([...images].sort((a, b) => a - b).map((id) => paths.get(names.get(id)!)));

    // AutoCNet's rule, the default: an image with fewer than 3 exported points leaves the network, and points left
    // with fewer than 2 measures go too. Make one image thin (2 points) for a moment, by ignoring its other measures.
    const thinId = [...images][0]!;
    const keep = new Set(net.points.filter((p) => p.measures.some((m) => m.serialNumber === names.get(thinId))).slice(0, 2).map((p) => Number(p.id.split("_").pop())));
    const hidden = (await ncg.db.query<{ id: number }>(
      "UPDATE measures SET measureignore = true WHERE imageid = $1 AND NOT measureignore AND NOT (pointid = ANY($2::int[])) RETURNING id", [thinId, [...keep]])).map((r) => r.id);
    try {
      const strict = await ncg.toIsis(path.join(tmp, "strict.net"));
      const strictNet = await readControlNetwork(path.join(tmp, "strict.net"));
      expect(strict.droppedImages).toEqual([thinId]);
      expect(strictNet.points.every((p) => p.measures.length >= 2 && p.measures.every((m) => m.serialNumber !== names.get(thinId)))).toBe(true);
      expect(strictNet.points.length).toBeGreaterThan(expected.length / 2);
      expect(await readImageList(strict.listPath)).toEqual([...images].filter((id) => id !== thinId).sort((a, b) => a - b).map((id) => paths.get(names.get(id)!)));
    } finally {
      await ncg.db.query("UPDATE measures SET measureignore = false WHERE id = ANY($1::int[])", [hidden]);
    }
    await expect(ncg.toIsis(path.join(tmp, "none.net"), { minPointsPerImage: 10_000 })).rejects.toThrow(/no point to export/);
  });
});

describe("matching jobs: re-runs replace, never duplicate (job functions called directly)", () => {
  const snapshot = async (sql: string, params: unknown[] = []) => JSON.stringify(await ncg.db.query(sql, params));

  it("extract_features twice leaves one identical keypoints row per image", async () => {
    const id = [...ncg.nodes.keys()][0]!;
    const sql = "SELECT image_id, method, nkeypoints, md5(keypoints) AS k, md5(descriptors) AS d, convex_hull_image FROM keypoints ORDER BY image_id";
    const before = await snapshot(sql);
    await extractFeaturesJob(ctx(id, { method: "orb", nfeatures: 2000 }));
    await extractFeaturesJob(ctx(id, { method: "orb", nfeatures: 2000 }));
    expect(await snapshot(sql)).toBe(before);
  });

  it("match, compute_homography and compute_fundamental_matrix twice leave the same rows", async () => {
    const [s, d] = edgeList()[0]!;
    const strip = (rows: Record<string, number>[]) => JSON.stringify(rows.map(({ id: _id, ...r }) => r));
    const before = strip(await matchesOf(s, d));
    await matchJob(ctx([d, s]));                                             // either order names the same edge
    await matchJob(ctx([s, d]));
    const after = await matchesOf(s, d);
    expect(strip(after)).toBe(before);
    expect(await edgeRow(s, d)).toMatchObject({ homography: null, fundamental: null, masks: {} });   // fits of the old rows are cleared
    await computeHomographyJob(ctx([s, d]));
    await computeFundamentalJob(ctx([s, d]));
    const once = await edgeRow(s, d);
    await computeHomographyJob(ctx([s, d]));
    await computeFundamentalJob(ctx([s, d]));
    expect(await edgeRow(s, d)).toEqual(once);
    expect(once.masks.homography!.every((id) => after.some((r) => r.id === id))).toBe(true);
  });

  it("place_points_in_overlap twice replaces the overlap's points and measures (same count, same positions)", async () => {
    const [s, d] = edgeList()[0]!;
    const positions = async () => {
      const [ov] = await ncg.db.query<{ id: number }>("SELECT id FROM overlay WHERE intersections = $1::int[]", [[s, d]]);
      const rows = await ncg.db.query<{ geom: string; imageid: number; sample: number; line: number; measuretype: number }>(
        "SELECT p.geom, m.imageid, m.sample, m.line, m.measuretype FROM points p JOIN measures m ON m.pointid = p.id WHERE p.overlapid = $1 ORDER BY p.id, m.id", [ov!.id]);
      return { overlay: Number(ov!.id), rows: JSON.stringify(rows), total: (await ncg.db.query("SELECT 1 FROM points")).length };
    };
    await placePointsJob(ctx([s, d], PLACE));
    const first = await positions();
    await placePointsJob(ctx([s, d], PLACE));
    const second = await positions();
    expect(second).toEqual(first);
    expect(JSON.parse(first.rows).length).toBeGreaterThan(20);
    expect((await ncg.db.query("SELECT 1 FROM overlay")).length).toBe(6);
  });

  it("subpixel_register_point twice writes the same; rejected measures are ignored and a point left alone is ignored", async () => {
    const point = (await ncg.points()).find((p) => p.overlapId !== null)!;
    const sql = "SELECT id, measuretype, sample, line, templatemetric, templateshift, weight, choosername, measureignore FROM measures WHERE pointid = $1 ORDER BY id";
    const first = await subpixelRegisterPointJob(ctx(point.id, REGISTER, "point"));
    const rows = await snapshot(sql, [point.id]);
    await subpixelRegisterPointJob(ctx(point.id, REGISTER, "point"));
    expect(await snapshot(sql, [point.id])).toBe(rows);
    expect(first.accepted).toBeGreaterThanOrEqual(1);
    // an impossible threshold rejects every measure: ignored, back at the a priori, the point ignored
    const strict = await subpixelRegisterPointJob(ctx(point.id, { ...REGISTER, threshold: 1e12 }, "point"));
    expect(strict).toMatchObject({ accepted: 0, ignored: true });
    const [p] = await ncg.points({ ids: [point.id] });
    expect(p!.ignore).toBe(true);
    const ms = await ncg.measures({ pointIds: [point.id] });
    expect(ms.filter((m, i) => i !== p!.referenceIndex).every((m) => m.ignore && m.measureType === 0 && m.sample === m.aprioriSample
      && m.line === m.aprioriLine && m.chooserName === "place_points_in_overlaps" && m.weight === null)).toBe(true);
    // and a normal run restores it (every run starts from the a priori)
    await subpixelRegisterPointJob(ctx(point.id, REGISTER, "point"));
    expect(await snapshot(sql, [point.id])).toBe(rows);
    expect((await ncg.points({ ids: [point.id] }))[0]!.ignore).toBe(false);
  });

  it("keypoints and descriptors round-trip through bytea exactly (float32)", () => {
    const kps = [{ x: 1.5, y: 2.25, response: Math.fround(0.001), size: 31, angle: 359.5, octave: 2 }, { x: 0, y: 159, response: Math.fround(1e-6), size: 7, angle: -1, octave: 0 }];
    expect(decodeKeypoints(encodeKeypoints(kps))).toEqual(kps);
    const f = new Float32Array([0.1, -2, 3e-8]);
    expect(decodeDescriptors(encodeDescriptors(f), "float32")).toEqual(f);
    const u = new Uint8Array([0, 255, 17]);
    expect(decodeDescriptors(encodeDescriptors(u), "uint8")).toEqual(u);
  });
});

describe("ring_match and its ladder", () => {
  it("a failure for too few points moves to the next {target_points, tolerance_val} step; other failures do not", () => {
    const policy = ringMatchPolicy();
    const message = { job_id: "a-0", id: [1, 2], along: "edge", func: "ring_match", args: [], kwargs: { max_radius: 40000 }, walltime: 60, count: 0, attempt: 1 } as unknown as JobMessage;
    const tooFew = { cause: "exception" as const, error: "ring_match on edge (1, 2): fewer than target_points = 15 pairs survive (…)" };
    expect(policy.reparameterize!(message, tooFew)).toEqual({ kwargs: { max_radius: 40000, ...RING_MATCH_LADDER[1] }, param_step: 1 });
    const last = { ...message, count: 3, attempt: 4, param_step: RING_MATCH_LADDER.length - 1 };
    expect(policy.reparameterize!(last, tooFew)).toBe(false);                // past the last step: dead-lettered
    const own = { ...message, kwargs: { ladder: [{ target_points: 50 }, { target_points: 5, tolerance_val: 0.1 }] } };
    expect(policy.reparameterize!(own, tooFew)).toMatchObject({ kwargs: { target_points: 5, tolerance_val: 0.1 }, param_step: 1 });
    expect(policy.reparameterize!(message, { cause: "exception", error: "image 3 has no keypoints" })).toBeUndefined();
    expect(policy.reparameterize!({ ...message, count: 2 }, { cause: "exception", error: "image 3 has no keypoints" })).toBe(false);
  });

  it("through workers: edges whose first attempt fails are retried with the ladder's next kwargs, as the lineage shows", async () => {
    // The frames differ in scale by up to 4 %, so AutoCNet's default distance-ratio tolerance (2 %) leaves too few
    // consistent pairs on most edges: the ladder's looser steps are what lets them through.
    expect(ncg.registry.get("ring_match")?.maxfailures).toBe(ringMatchPolicy().maxfailures);   // the built-in, not a fixture's
    const job = await ncg.apply("ring_match", { on: "edges" });
    const done = await job.wait({ timeout: 60_000 });
    expect(done.total).toBe(6);
    let retriedAndMatched = 0;
    for (let i = 0; i < job.targets.length; i++) {
      const [s, d] = job.targets[i] as [number, number];
      const lineage = await ncg.lineage(job.jobId(i));
      const requeues = lineage.events.filter((e) => e.e === "requeued");
      // every retry moved exactly one rung down the default ladder, in order
      requeues.forEach((e, k) => {
        expect(e.error).toMatch(/fewer than target_points/);
        expect(e.params?.to).toMatchObject({ ...RING_MATCH_LADDER[k + 1], param_step: k + 1 });
      });
      const status = ncg.edge(s, d)!.jobStatus.ring_match!;
      if (lineage.outcome === "completed") {
        const step = RING_MATCH_LADDER[requeues.length]!;
        expect(status).toMatchObject({ success: true, attempts: requeues.length + 1 });
        if (requeues.length > 0) expect(status.lastParams).toMatchObject(step);
        const rows = await matchesOf(s, d);
        expect(rows.length).toBeGreaterThanOrEqual(step.target_points!);
        const e = await edgeRow(s, d);
        expect(e.ring).toEqual([0, 4000]);                                 // the a-priori error (~500 m) is in the first ring
        // ring matches are true correspondences: within 2 px of the truth
        const off = rows.map((r) => {
          const t = trueMeasure(truth, names.get(s)!, { x: r.source_x!, y: r.source_y! }, names.get(d)!);
          return Math.hypot(r.destination_x! - t.x, r.destination_y! - t.y);
        });
        expect(off.filter((x) => x < 2).length / off.length).toBeGreaterThanOrEqual(0.9);
        if (requeues.length > 0) retriedAndMatched++;
      } else {
        expect(lineage.outcome).toBe("dead");
        expect(requeues).toHaveLength(RING_MATCH_LADDER.length - 1);
        expect(lineage.events.find((e) => e.e === "dead")?.why).toMatch(/gave up/);
      }
    }
    expect(retriedAndMatched).toBeGreaterThanOrEqual(1);
  });
});

describe("extract_features with float descriptors", () => {
  it("KAZE stores float32 descriptors that match reads back and matches with L2", async () => {
    const [s, d] = edgeList()[0]!;
    for (const id of [s, d]) expect((await extractFeaturesJob(ctx(id, { method: "kaze", nfeatures: 500, threshold: 0.0001 }))).nkeypoints).toBeGreaterThan(50);
    const rows = await ncg.db.query<{ descriptor_type: string; descriptor_size: number; nkeypoints: number; descriptors: Uint8Array }>(
      "SELECT descriptor_type, descriptor_size, nkeypoints, descriptors FROM keypoints WHERE image_id = ANY($1::int[])", [[s, d]]);
    for (const r of rows) {
      expect(r).toMatchObject({ descriptor_type: "float32", descriptor_size: 64 });
      expect(r.descriptors.length).toBe(Number(r.nkeypoints) * 64 * 4);
    }
    const m = await matchJob(ctx([s, d]));
    expect(m.matches).toBeGreaterThanOrEqual(10);
    const fit = await computeHomographyJob(ctx([s, d]));
    expect(fit.homography_rms).toBeLessThanOrEqual(1);
  });
});
