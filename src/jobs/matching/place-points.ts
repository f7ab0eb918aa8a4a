/**
 * `place_points_in_overlap` (edge): control points laid over the part of the edge's overlap the edge owns,
 * each at an "interesting" feature near a grid node, measured in every image that sees it (AutoCNet's
 * `place_points_in_overlap` with `find_interesting_point` / `extract_most_interesting`).
 *
 * Which overlap. AutoCNet places points per row of its `overlay` table, a partition of the campaign into regions
 * each covered by one set of images, so no ground is covered twice. Here the job runs per edge (source s <
 * destination d) and owns the region R = footprint(s) ∩ footprint(d) minus every other footprint with an id
 * smaller than d: a ground point covered by the images S (sorted ids) belongs to exactly one edge, (S[0], S[1]).
 * Edges' regions are disjoint, so no two edges place points on the same ground. R is kept in `overlay`
 * (`intersections` = [s, d], `geom` = R as GeoJSON lon/lat) and the points reference it (`overlapid`).
 *
 * Steps, in the pixels of s (the reference image):
 * 1. A grid over R: nodes `spacing` pixels apart (or about `npoints` nodes), centred on R's bounding box,
 *    kept when inside R and at least `margin` pixels inside s.
 * 2. Per node, the most interesting feature in a `size` × `size` window about it (AutoCNet:
 *    extract_most_interesting — the keypoint of `interesting_nfeatures` ORB features whose descriptor has the
 *    largest variance), restricted to R and to `margin` inside s; the node itself when there is none (as AutoCNet
 *    falls back to the a-priori position). Points closer than 1 px to an earlier one are dropped.
 * 3. Its ground position through s's georeference, then a measure in EVERY image (not only s and d) whose pixel
 *    there (ground → pixel through that image's georeference) is at least `margin` pixels inside it.
 * 4. Points with ≥ 2 measures are kept: pointtype `point_type` (2, free), identifier `identifier`, geom the
 *    a-priori lon/lat, apriori/adjusted X, Y, Z body-fixed on the georeference's sphere, referenceindex 0.
 *
 * Measure types (a decision, stated once): the reference measure (in s, at the feature found by the detector)
 * is 2 "registered pixel"; the others are 0 "candidate" — their position is only the georeferences' prediction
 * until subpixel_register_point measures them (then 3). AutoCNet itself writes 3 for every placed measure
 * (spatial/overlap.py), which would make an unregistered measure look sub-pixel registered in ISIS.
 * sample/line and apriorisample/aprioriline are both the predicted position (our 0-based pixel convention).
 *
 * kwargs: `spacing` (reference pixels, default 64) or `npoints`; `size` (default 71); `margin` (default 32:
 * keeps subpixel_register_point's default 61 px search window inside every image); `interesting` (default
 * true; false keeps the grid nodes); `interesting_method` orb | akaze | kaze, `interesting_nfeatures` (10);
 * `identifier` ('place_points_in_overlaps', AutoCNet's); `point_type` 2 | 3 | 4.
 *
 * Idempotent: one statement upserts the overlay row, deletes its points (their measures cascade) and inserts
 * the new ones, so a re-run replaces. Returns counts.
 */
import polygonClipping from "polygon-clipping";
import type { MultiPolygonCoords, Position } from "../../geometry/polygons";
import { toGeoJSON } from "../../geometry/polygons";
import type { PixelPoint } from "../../image/georeference";
import type { Raster } from "../../image/raster";
import { extractFeatures, type FeatureMethod } from "../../vision/features";
import type { JobContext } from "../../worker/registry";
import { bodyFixed, edgeTarget, ensureOpenCv, ImageReader, insideImage, Kwargs, loadAllImageRecords, loadImageRecords, type ImageRecord, type ImageWindow } from "./common";

export const PLACE_POINTS_IN_OVERLAP = "place_points_in_overlap";

/** Pixels around the interesting window read for the detector: ORB finds nothing within 31 px of a chip's border. */
const DETECTOR_PAD = 32;

export interface PlacePointsResult {
  overlay: number;
  grid: number;
  interesting: number;
  points: number;
  measures: number;
}

export async function placePointsJob(ctx: JobContext): Promise<PlacePointsResult> {
  const [s, d] = edgeTarget(ctx, PLACE_POINTS_IN_OVERLAP);
  const k = new Kwargs(PLACE_POINTS_IN_OVERLAP, ctx.kwargs);
  const spacingKw = k.optionalNumber("spacing", { min: 1 });
  const npoints = k.optionalNumber("npoints", { integer: true, min: 1 });
  if (spacingKw !== undefined && npoints !== undefined) throw new Error(`${PLACE_POINTS_IN_OVERLAP}: give spacing or npoints, not both`);
  const size = k.number("size", 71, { integer: true, min: 3 });
  const margin = k.number("margin", 32, { min: 0 });
  const interesting = k.boolean("interesting", true);
  const method = k.choice<FeatureMethod>("interesting_method", "orb", ["orb", "akaze", "kaze"]);
  const nfeatures = k.number("interesting_nfeatures", 10, { integer: true, min: 1 });
  const identifier = k.string("identifier", "place_points_in_overlaps");
  const pointType = k.number("point_type", 2, { integer: true, min: 2, max: 4 });

  const pair = await loadImageRecords(ctx.db, [s, d]); // clear errors for the edge's own images
  const ref = pair.get(s)!;
  const others = (await loadAllImageRecords(ctx.db)).filter((r) => r.id !== s);
  if (!others.some((r) => r.id === d)) others.push(pair.get(d)!);
  others.sort((a, b) => a.id - b.id);

  // Every image's footprint in s's pixels (exact: the georeferences are affine).
  const quad = (rec: ImageRecord): MultiPolygonCoords => {
    const corners = [[-0.5, -0.5], [rec.width - 0.5, -0.5], [rec.width - 0.5, rec.height - 0.5], [-0.5, rec.height - 0.5]].map(([x, y]) => {
      // s's own rectangle exactly: through the ground and back it comes out 1e-13 px off (−0.4999999999998863), and such
      // near-coincident edges make polygon-clipping throw "Unable to complete output ring" (a 4 × 3 synthetic campaign)
      if (rec.id === ref.id) return [x!, y!] as Position;
      const g = rec.georef.pixelToGround(x!, y!);
      const p = ref.georef.groundToPixel(g.lon, g.lat);
      return [p.x, p.y] as Position;
    });
    return [[[...corners, corners[0]!]]];
  };
  const refRect = quad(ref);
  let region = polygonClipping.intersection(refRect as polygonClipping.MultiPolygon, quad(pair.get(d)!) as polygonClipping.MultiPolygon) as MultiPolygonCoords;
  const lower = others.filter((r) => r.id < d); // every other image (others excludes s) with a smaller id than d
  if (region.length > 0 && lower.length > 0) {
    region = polygonClipping.difference(region as polygonClipping.MultiPolygon, ...lower.map((r) => quad(r) as polygonClipping.MultiPolygon)) as MultiPolygonCoords;
  }

  // 1. the grid
  const nodes: PixelPoint[] = [];
  if (region.length > 0) {
    const box = boundsOf(region);
    const spacing = spacingKw ?? (npoints !== undefined ? Math.max(1, Math.sqrt(areaOf(region) / npoints)) : 64);
    const nx = Math.floor((box.maxX - box.minX) / spacing) + 1;
    const ny = Math.floor((box.maxY - box.minY) / spacing) + 1;
    const cx = (box.minX + box.maxX) / 2;
    const cy = (box.minY + box.maxY) / 2;
    for (let j = 0; j < ny; j++) {
      for (let i = 0; i < nx; i++) {
        const p = { x: cx + (i - (nx - 1) / 2) * spacing, y: cy + (j - (ny - 1) / 2) * spacing };
        if (insideImage(ref, p, margin) && inMultiPolygon(region, p)) nodes.push(p);
      }
    }
  }

  // 2. an interesting feature near each node
  const chosen: PixelPoint[] = [];
  let found = 0;
  if (nodes.length > 0) {
    if (interesting) await ensureOpenCv();
    const reader = new ImageReader(new Map([[s, ref]]));
    try {
      const half = Math.floor(size / 2);
      const pad = half + DETECTOR_PAD;
      let win: ImageWindow | undefined;
      if (interesting) {
        const xs = nodes.map((p) => p.x);
        const ys = nodes.map((p) => p.y);
        win = await reader.readWindow(s, Math.min(...xs) - pad, Math.min(...ys) - pad, Math.max(...xs) + pad, Math.max(...ys) + pad);
      }
      for (const node of nodes) {
        if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error("aborted");
        const best = win ? mostInteresting(win, node, half, method, nfeatures, (p) => insideImage(ref, p, margin) && inMultiPolygon(region, p)) : undefined;
        if (best) found++;
        const p = best ?? node;
        if (!chosen.some((q) => Math.hypot(q.x - p.x, q.y - p.y) < 1)) chosen.push(p);
      }
    } finally {
      await reader.close();
    }
  }

  // 3. measures in every image that sees each point
  interface Placed { ground: { lon: number; lat: number }; measures: { rec: ImageRecord; p: PixelPoint; type: number }[] }
  const placed: Placed[] = [];
  for (const p of chosen) {
    const ground = ref.georef.pixelToGround(p.x, p.y);
    const measures: Placed["measures"] = [{ rec: ref, p, type: 2 }];
    for (const rec of others) {
      const q = rec.georef.groundToPixel(ground.lon, ground.lat);
      if (insideImage(rec, q, margin)) measures.push({ rec, p: q, type: 0 });
    }
    if (measures.length >= 2) placed.push({ ground, measures });
  }

  // 4. one statement: overlay row, old points out (measures cascade), new points and measures in
  const nMeasures = placed.reduce((n, pt) => n + pt.measures.length, 0);
  const pointIds = await nextIds(ctx, "points", placed.length);
  const measureIds = await nextIds(ctx, "measures", nMeasures);
  const geomLonLat = region.map((poly) => poly.map((ring) => ring.map(([x, y]) => {
    const g = ref.georef.pixelToGround(x, y);
    return [g.lon, g.lat] as Position;
  })));
  const radius = ref.georef.radius;
  const xyz = placed.map((pt) => bodyFixed(pt.ground, radius));
  const m: { id: number; pid: number; iid: number; serial: string; type: number; x: number; y: number }[] = [];
  placed.forEach((pt, i) => pt.measures.forEach((ms) => m.push({
    id: measureIds[m.length]!, pid: pointIds[i]!, iid: ms.rec.id, serial: ms.rec.serial, type: ms.type, x: ms.p.x, y: ms.p.y,
  })));
  await ctx.db.query(
    `WITH ov AS (INSERT INTO overlay (intersections, geom) VALUES ($1::int[], $2)
                 ON CONFLICT (intersections) DO UPDATE SET geom = EXCLUDED.geom RETURNING id),
          gone AS (DELETE FROM points WHERE overlapid = (SELECT id FROM ov)),
          pts AS (INSERT INTO points (id, pointtype, identifier, overlapid, geom, apriorix, aprioriy, aprioriz,
                                      adjustedx, adjustedy, adjustedz, pointignore, referenceindex, job_id)
                  SELECT p.id, $3, $4, (SELECT id FROM ov), p.geom, p.x, p.y, p.z, p.x, p.y, p.z, false, 0, $5
                    FROM unnest($6::int[], $7::text[], $8::float8[], $9::float8[], $10::float8[]) AS p(id, geom, x, y, z)
                  RETURNING id)
     INSERT INTO measures (id, pointid, imageid, serialnumber, measuretype, sample, line, apriorisample, aprioriline, choosername, job_id)
     SELECT t.id, t.pid, t.iid, t.serial, t.mtype, t.x, t.y, t.x, t.y, $4, $5
       FROM unnest($11::int[], $12::int[], $13::int[], $14::text[], $15::int[], $16::float8[], $17::float8[]) AS t(id, pid, iid, serial, mtype, x, y)`,
    [[s, d], JSON.stringify(toGeoJSON(geomLonLat)), pointType, identifier, ctx.jobId,
      pointIds, placed.map((pt) => JSON.stringify({ type: "Point", coordinates: [pt.ground.lon, pt.ground.lat] })),
      xyz.map((v) => v.x), xyz.map((v) => v.y), xyz.map((v) => v.z),
      m.map((r) => r.id), m.map((r) => r.pid), m.map((r) => r.iid), m.map((r) => r.serial), m.map((r) => r.type), m.map((r) => r.x), m.map((r) => r.y)],
  );
  const [ov] = await ctx.db.query<{ id: number }>("SELECT id FROM overlay WHERE intersections = $1::int[]", [[s, d]]);
  return { overlay: Number(ov?.id), grid: nodes.length, interesting: found, points: placed.length, measures: nMeasures };
}

/** `n` fresh ids of a serial column (taken from its sequence, so never reused), in increasing order. */
async function nextIds(ctx: JobContext, table: "points" | "measures", n: number): Promise<number[]> {
  if (n === 0) return [];
  const rows = await ctx.db.query<{ id: number | string }>(
    `SELECT nextval(pg_get_serial_sequence('${table}', 'id')) AS id FROM generate_series(1, $1::int)`, [n]);
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

/**
 * AutoCNet's extract_most_interesting: features in the `2·half + 1` window about `node` (detected on the window
 * plus DETECTOR_PAD pixels, so that the detector's border exclusion does not eat the window), and of those
 * accepted by `keep`, the one whose descriptor values have the largest variance.
 */
function mostInteresting(
  win: ImageWindow, node: PixelPoint, half: number, method: FeatureMethod, nfeatures: number, keep: (p: PixelPoint) => boolean,
): PixelPoint | undefined {
  const r = half + DETECTOR_PAD;
  const x0 = Math.max(win.x0, Math.round(node.x) - r);
  const y0 = Math.max(win.y0, Math.round(node.y) - r);
  const x1 = Math.min(win.x0 + win.raster.width - 1, Math.round(node.x) + r);
  const y1 = Math.min(win.y0 + win.raster.height - 1, Math.round(node.y) + r);
  if (x1 - x0 < 8 || y1 - y0 < 8) return undefined;
  const chip = crop(win, x0, y0, x1 - x0 + 1, y1 - y0 + 1);
  const f = extractFeatures(chip, { method, nfeatures });
  let best: PixelPoint | undefined;
  let bestVar = -Infinity;
  const n = f.descriptorSize;
  f.keypoints.forEach((kp, i) => {
    const p = { x: kp.x + x0, y: kp.y + y0 };
    if (Math.abs(p.x - node.x) > half || Math.abs(p.y - node.y) > half || !keep(p)) return;
    let mean = 0;
    for (let j = 0; j < n; j++) mean += f.descriptors[i * n + j]!;
    mean /= n;
    let v = 0;
    for (let j = 0; j < n; j++) v += (f.descriptors[i * n + j]! - mean) ** 2;
    if (v / n > bestVar) {
      bestVar = v / n;
      best = p;
    }
  });
  return best;
}

function crop(win: ImageWindow, x0: number, y0: number, w: number, h: number): Raster {
  const data = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const start = (y0 - win.y0 + y) * win.raster.width + (x0 - win.x0);
    data.set(win.raster.data.subarray(start, start + w), y * w);
  }
  return { width: w, height: h, data };
}

function boundsOf(mp: MultiPolygonCoords): { minX: number; minY: number; maxX: number; maxY: number } {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const poly of mp) for (const ring of poly) for (const [x, y] of ring) {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  }
  return { minX, minY, maxX, maxY };
}

function areaOf(mp: MultiPolygonCoords): number {
  let a = 0;
  for (const poly of mp) {
    poly.forEach((ring, i) => {
      let s = 0;
      for (let k = 0; k + 1 < ring.length; k++) s += ring[k]![0] * ring[k + 1]![1] - ring[k + 1]![0] * ring[k]![1];
      a += (i === 0 ? 1 : -1) * Math.abs(s / 2);
    });
  }
  return a;
}

/** Even-odd point in polygon over every ring (holes included). */
export function inMultiPolygon(mp: MultiPolygonCoords, p: PixelPoint): boolean {
  let inside = false;
  for (const poly of mp) {
    for (const ring of poly) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i]!;
        const [xj, yj] = ring[j]!;
        if (yi > p.y !== yj > p.y && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  }
  return inside;
}
