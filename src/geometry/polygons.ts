import polygonClipping from "polygon-clipping";

/** Lon/lat positions, GeoJSON order. A ring is closed (first = last). */
export type Position = [number, number];
export type Ring = Position[];
export type PolygonCoords = Ring[];
/** Every footprint is held as a MultiPolygon (a Polygon is one part). */
export type MultiPolygonCoords = PolygonCoords[];

export interface GeoJSONPolygon { type: "Polygon"; coordinates: PolygonCoords }
export interface GeoJSONMultiPolygon { type: "MultiPolygon"; coordinates: MultiPolygonCoords }
export type FootprintInput = GeoJSONPolygon | GeoJSONMultiPolygon | { type: "Feature"; geometry: GeoJSONPolygon | GeoJSONMultiPolygon } | string;

export type ParsedFootprint = { ok: true; coords: MultiPolygonCoords } | { ok: false; reason: string };

/**
 * Reads a footprint given as GeoJSON (Polygon, MultiPolygon or a Feature of one) or WKT (POLYGON,
 * MULTIPOLYGON), then checks it: rings closed and of at least 4 positions, coordinates finite and on the
 * lon/lat sphere, no self-intersections, non-zero area. Never throws: an invalid footprint gets a reason.
 */
export function parseFootprint(input: FootprintInput | null | undefined): ParsedFootprint {
  let coords: MultiPolygonCoords;
  try {
    coords = toMultiPolygon(input);
  } catch (err) {
    return { ok: false, reason: (err as Error).message };
  }
  const reason = invalidReason(coords);
  return reason ? { ok: false, reason } : { ok: true, coords };
}

function toMultiPolygon(input: FootprintInput | null | undefined): MultiPolygonCoords {
  if (input === null || input === undefined) throw new Error("empty footprint");
  if (typeof input === "string") {
    const text = input.trim();
    if (text.startsWith("{")) return toMultiPolygon(JSON.parse(text) as FootprintInput);
    return parseWkt(text);
  }
  if (input.type === "Feature") return toMultiPolygon(input.geometry);
  if (input.type === "Polygon") return [input.coordinates];
  if (input.type === "MultiPolygon") return input.coordinates;
  throw new Error(`unsupported footprint type '${(input as { type?: unknown }).type}' (use Polygon or MultiPolygon)`);
}

/** WKT POLYGON / MULTIPOLYGON (2D; a Z or M value is dropped). */
export function parseWkt(text: string): MultiPolygonCoords {
  const m = /^\s*(MULTIPOLYGON|POLYGON)\s*(?:Z|M|ZM)?\s*(EMPTY|\(.*\))\s*$/is.exec(text);
  if (!m) throw new Error(`not WKT POLYGON or MULTIPOLYGON: "${text.slice(0, 40)}"`);
  if (m[2].toUpperCase() === "EMPTY") throw new Error("empty footprint");
  // turn the WKT into JSON arrays: "(" -> "[", numbers as [x, y]
  const json = m[2]
    .replace(/(-?[\d.]+(?:e[-+]?\d+)?)\s+(-?[\d.]+(?:e[-+]?\d+)?)(?:\s+-?[\d.]+(?:e[-+]?\d+)?)*/gi, "[$1,$2]")
    .replace(/\(/g, "[").replace(/\)/g, "]");
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`malformed WKT: "${text.slice(0, 40)}"`);
  }
  return (m[1].toUpperCase() === "POLYGON" ? [value] : value) as MultiPolygonCoords;
}

function invalidReason(mp: MultiPolygonCoords): string | undefined {
  if (!Array.isArray(mp) || mp.length === 0) return "empty footprint";
  for (const poly of mp) {
    if (!Array.isArray(poly) || poly.length === 0) return "empty polygon";
    for (const ring of poly) {
      if (!Array.isArray(ring) || ring.length < 4) return "a ring has fewer than 4 positions";
      for (const p of ring) {
        if (!Array.isArray(p) || p.length < 2 || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) return "a position is not a pair of finite numbers";
        if (p[0] < -360 || p[0] > 360 || p[1] < -90 || p[1] > 90) return `position [${p[0]}, ${p[1]}] is off the lon/lat sphere`;
      }
      const [a, b] = [ring[0], ring[ring.length - 1]];
      if (a[0] !== b[0] || a[1] !== b[1]) return "a ring is not closed (first and last positions differ)";
      if (selfIntersects(ring)) return "self-intersecting ring";
    }
    if (Math.abs(ringArea(poly[0])) === 0) return "zero-area polygon";
  }
  return undefined;
}

function selfIntersects(ring: Ring): boolean {
  const n = ring.length - 1; // segments
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (j === i + 1 || (i === 0 && j === n - 1)) continue; // neighbours share an end
      if (segmentsIntersect(ring[i], ring[i + 1], ring[j], ring[j + 1])) return true;
    }
  }
  return false;
}

function orient(a: Position, b: Position, c: Position): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}

function onSegment(a: Position, b: Position, p: Position): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}

function segmentsIntersect(p1: Position, p2: Position, p3: Position, p4: Position): boolean {
  const d1 = orient(p3, p4, p1), d2 = orient(p3, p4, p2), d3 = orient(p1, p2, p3), d4 = orient(p1, p2, p4);
  if (d1 !== d2 && d3 !== d4) return true;
  return (d1 === 0 && onSegment(p3, p4, p1)) || (d2 === 0 && onSegment(p3, p4, p2)) ||
    (d3 === 0 && onSegment(p1, p2, p3)) || (d4 === 0 && onSegment(p1, p2, p4));
}

/** Signed planar area of a ring in square degrees (as PostGIS ST_Area on SRID 4326 geometry); positive when counter-clockwise. */
export function ringArea(ring: Ring): number {
  let s = 0;
  for (let i = 0; i < ring.length - 1; i++) s += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
  return s / 2;
}

/** Planar area in square degrees, holes subtracted. */
export function area(mp: MultiPolygonCoords): number {
  let total = 0;
  for (const poly of mp) {
    poly.forEach((ring, i) => { total += i === 0 ? Math.abs(ringArea(ring)) : -Math.abs(ringArea(ring)); });
  }
  return total;
}

/**
 * Area on a sphere of `radius` metres, in km², holes subtracted: each ring's area by the spherical trapezoid
 * sum R²/2 · |Σ (λ₂ − λ₁)(2 + sin φ₁ + sin φ₂)| (exact for the sphere's loxodromic edges up to the small error
 * of treating edges as such; well under 0.1 % for footprints of a few degrees).
 */
export function areaKm2(mp: MultiPolygonCoords, radius: number): number {
  const rad = Math.PI / 180;
  const ringKm2 = (ring: Ring) => {
    let s = 0;
    for (let i = 0; i < ring.length - 1; i++) {
      s += (ring[i + 1][0] - ring[i][0]) * rad * (2 + Math.sin(ring[i][1] * rad) + Math.sin(ring[i + 1][1] * rad));
    }
    return Math.abs(s) * radius * radius / 2 / 1e6;
  };
  let total = 0;
  for (const poly of mp) poly.forEach((ring, i) => { total += i === 0 ? ringKm2(ring) : -ringKm2(ring); });
  return total;
}

/** Area-weighted centroid (lon, lat). */
export function centroid(mp: MultiPolygonCoords): Position {
  let ax = 0, ay = 0, at = 0;
  for (const poly of mp) {
    poly.forEach((ring, k) => {
      const sign = k === 0 ? 1 : -1;
      let a = 0, cx = 0, cy = 0;
      for (let i = 0; i < ring.length - 1; i++) {
        const f = ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1];
        a += f;
        cx += (ring[i][0] + ring[i + 1][0]) * f;
        cy += (ring[i][1] + ring[i + 1][1]) * f;
      }
      a /= 2;
      if (a === 0) return;
      const w = sign * Math.abs(a);
      ax += (cx / (6 * a)) * w;
      ay += (cy / (6 * a)) * w;
      at += w;
    });
  }
  return at === 0 ? [NaN, NaN] : [ax / at, ay / at];
}

export interface BBox { minX: number; minY: number; maxX: number; maxY: number }

export function bbox(mp: MultiPolygonCoords): BBox {
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const poly of mp) for (const ring of poly) for (const [x, y] of ring) {
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  return { minX, minY, maxX, maxY };
}

/** The intersection of two footprints (possibly empty: []). */
export function intersection(a: MultiPolygonCoords, b: MultiPolygonCoords): MultiPolygonCoords {
  return polygonClipping.intersection(a as polygonClipping.MultiPolygon, b as polygonClipping.MultiPolygon) as MultiPolygonCoords;
}

export function toGeoJSON(mp: MultiPolygonCoords): GeoJSONMultiPolygon {
  return { type: "MultiPolygon", coordinates: mp };
}

export interface Overlap<T> { source: T; destination: T; intersection: MultiPolygonCoords; area: number }

/**
 * Every pair of footprints that overlap with a positive area (touching along an edge or at a corner is
 * not an overlap). A sweep over bounding boxes sorted by west edge keeps it far from all-pairs.
 */
export function overlaps<T>(items: { id: T; coords: MultiPolygonCoords }[], minArea = 1e-12): Overlap<T>[] {
  const boxed = items.map((it) => ({ ...it, box: bbox(it.coords) })).sort((p, q) => p.box.minX - q.box.minX);
  const out: Overlap<T>[] = [];
  for (let i = 0; i < boxed.length; i++) {
    const a = boxed[i];
    for (let j = i + 1; j < boxed.length && boxed[j].box.minX < a.box.maxX; j++) {
      const b = boxed[j];
      if (b.box.minY >= a.box.maxY || b.box.maxY <= a.box.minY) continue;
      const inter = intersection(a.coords, b.coords);
      const ar = area(inter);
      if (ar > minArea) {
        const [source, destination] = a.id < b.id ? [a.id, b.id] : [b.id, a.id];
        out.push({ source, destination, intersection: inter, area: ar });
      }
    }
  }
  return out.sort((p, q) => (p.source < q.source ? -1 : p.source > q.source ? 1 : p.destination < q.destination ? -1 : p.destination > q.destination ? 1 : 0));
}
