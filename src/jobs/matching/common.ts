/**
 * What the matching jobs share: reading a target from a message, kwargs with checked types, an image's
 * database row with its georeference and pixels, keypoints to and from `bytea`, and the OpenCV guard.
 *
 * Pixel coordinates everywhere are those of src/image/raster.ts (0-based, pixel centres at integers), as
 * stored in keypoints, matches and measures (`sample` = x, `line` = y); ISIS's +1 is applied only on export.
 */
import type { Database } from "../../database";
import { openImage, type Image } from "../../image";
import { loadStoredGeoreference, type AffineGeoreference, type LonLat, type PixelPoint } from "../../image/georeference";
import type { Raster } from "../../image/raster";
import { loadOpenCv, type CV } from "../../vision/opencv";
import type { Keypoint } from "../../vision/features";
import type { JobContext } from "../../worker/registry";

/** OpenCV, loaded once per process (the first job of a worker pays ~0.6 s; later calls return at once). */
export function ensureOpenCv(): Promise<CV> {
  return loadOpenCv();
}

// ---------------------------------------------------------------- targets

/** An edge target as (source, destination) with source < destination, as the edges table keeps it. */
export function edgeTarget(ctx: Pick<JobContext, "id">, func: string): [number, number] {
  const id = ctx.id;
  if (!Array.isArray(id) || id.length !== 2 || !id.every((x) => Number.isInteger(Number(x)))) {
    throw new Error(`${func} runs on edges ([source, destination] image ids), got ${JSON.stringify(id)}`);
  }
  const a = Number(id[0]);
  const b = Number(id[1]);
  if (a === b) throw new Error(`${func}: an edge joins two different images, got [${a}, ${b}]`);
  return a < b ? [a, b] : [b, a];
}

/** A node (image id) or point id target. */
export function idTarget(ctx: Pick<JobContext, "id">, func: string, what: "image" | "point"): number {
  const id = Number(ctx.id);
  if (Array.isArray(ctx.id) || !Number.isInteger(id)) {
    throw new Error(`${func} runs on ${what === "image" ? "nodes (image ids)" : "points (point ids; apply it with on: 'points')"}, got ${JSON.stringify(ctx.id)}`);
  }
  return id;
}

// ---------------------------------------------------------------- kwargs

/** Reading kwargs with their types checked: a wrong value fails the job naming the kwarg, never silently. */
export class Kwargs {
  constructor(private readonly func: string, private readonly kwargs: Record<string, unknown>) {}

  private bad(name: string, want: string): never {
    throw new Error(`${this.func}: kwarg ${name} must be ${want}, got ${JSON.stringify(this.kwargs[name])}`);
  }

  has(name: string): boolean {
    return this.kwargs[name] !== undefined && this.kwargs[name] !== null;
  }

  number(name: string, fallback: number, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
    if (!this.has(name)) return fallback;
    const v = Number(this.kwargs[name]);
    const want = `${range.integer ? "an integer" : "a number"}${range.min !== undefined ? ` ${range.exclusiveMin ? ">" : "≥"} ${range.min}` : ""}${range.max !== undefined ? ` ≤ ${range.max}` : ""}`;
    if (typeof this.kwargs[name] === "boolean" || !Number.isFinite(v)) this.bad(name, want);
    if (range.integer && !Number.isInteger(v)) this.bad(name, want);
    if (range.min !== undefined && (range.exclusiveMin ? v <= range.min : v < range.min)) this.bad(name, want);
    if (range.max !== undefined && v > range.max) this.bad(name, want);
    return v;
  }

  optionalNumber(name: string, range: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number | undefined {
    return this.has(name) ? this.number(name, 0, range) : undefined;
  }

  oddInteger(name: string, fallback: number, min: number): number {
    const v = this.number(name, fallback, { integer: true, min });
    if (v % 2 === 0) this.bad(name, `an odd integer ≥ ${min}`);
    return v;
  }

  choice<T extends string>(name: string, fallback: T, allowed: readonly T[]): T {
    if (!this.has(name)) return fallback;
    const v = this.kwargs[name];
    if (typeof v !== "string" || !allowed.includes(v as T)) this.bad(name, `one of ${allowed.map((a) => `'${a}'`).join(", ")}`);
    return v as T;
  }

  string(name: string, fallback: string): string {
    if (!this.has(name)) return fallback;
    const v = this.kwargs[name];
    if (typeof v !== "string" || v.length === 0) this.bad(name, "a non-empty string");
    return v;
  }

  boolean(name: string, fallback: boolean): boolean {
    if (!this.has(name)) return fallback;
    const v = this.kwargs[name];
    if (typeof v !== "boolean") this.bad(name, "true or false");
    return v;
  }
}

// ---------------------------------------------------------------- images

/** What a matching job needs of an image: its row (name, file, size, serial) and its georeference. */
export interface ImageRecord {
  id: number;
  name: string;
  path: string;
  serial: string;
  width: number;
  height: number;
  georef: AffineGeoreference;
}

interface ImageRow {
  id: number;
  name: string;
  path: string | null;
  serial: string | null;
  width: number | null;
  height: number | null;
  georef: string | null;
}

/** Image rows by id, with their georeferences; throws naming the image and what to do when one cannot be used. */
export async function loadImageRecords(db: Database, ids: number[]): Promise<Map<number, ImageRecord>> {
  const unique = [...new Set(ids)];
  const rows = await db.query<ImageRow>("SELECT id, name, path, serial, width, height, georef FROM images WHERE id = ANY($1::int[])", [unique]);
  const out = new Map<number, ImageRecord>();
  for (const r of rows) out.set(Number(r.id), toRecord(r));
  for (const id of unique) if (!out.has(id)) throw new Error(`image ${id} is not in the images table`);
  return out;
}

function toRecord(r: ImageRow): ImageRecord {
  const where = `image ${r.id} (${r.name})`;
  if (!r.path) throw new Error(`${where} has no file (path): matching reads pixels; add it with ncg.addImages([path])`);
  if (!r.georef) throw new Error(`${where} has no georeference: add it from its file with ncg.addImages([path]) (ISIS map projection, GeoTIFF, or a .georef.json sidecar)`);
  if (!(Number(r.width) > 0) || !(Number(r.height) > 0)) throw new Error(`${where} has no size: add it from its file with ncg.addImages([path])`);
  return {
    id: Number(r.id), name: r.name, path: r.path, serial: r.serial ?? r.name, width: Number(r.width), height: Number(r.height),
    georef: loadStoredGeoreference(r.georef),
  };
}

/** Every image with a georeference and a file (not ignored): the candidates for a point's measures. */
export async function loadAllImageRecords(db: Database): Promise<ImageRecord[]> {
  const rows = await db.query<ImageRow>(
    "SELECT id, name, path, serial, width, height, georef FROM images WHERE NOT ignore AND georef IS NOT NULL AND path IS NOT NULL AND width > 0 AND height > 0 ORDER BY id");
  return rows.map(toRecord);
}

/** A window read from an image, clipped to it: `raster` holds pixels [x0, x0 + width) × [y0, y0 + height). */
export interface ImageWindow {
  raster: Raster;
  x0: number;
  y0: number;
}

/**
 * Opens each image file once per job and reads windows of it. `close()` releases the files; jobs call it in
 * `finally`.
 */
export class ImageReader {
  private readonly open = new Map<number, Promise<Image>>();

  constructor(private readonly records: Map<number, ImageRecord>) {}

  record(id: number): ImageRecord {
    const r = this.records.get(id);
    if (!r) throw new Error(`image ${id} was not loaded`);
    return r;
  }

  private image(id: number): Promise<Image> {
    let p = this.open.get(id);
    if (!p) {
      const rec = this.record(id);
      p = openImage(rec.path).then((img) => {
        if (img.width !== rec.width || img.height !== rec.height) {
          void img.close();
          throw new Error(`image ${id} (${rec.name}): ${rec.path} is ${img.width} × ${img.height}, the images table says ${rec.width} × ${rec.height}; add it again with ncg.addImages`);
        }
        return img;
      });
      p.catch(() => {});
      this.open.set(id, p);
    }
    return p;
  }

  /** The whole image. */
  async readAll(id: number): Promise<Raster> {
    return (await this.image(id)).read();
  }

  /**
   * The whole-pixel window [x0, x1] × [y0, y1] (inclusive, rounded outwards), clipped to the image;
   * undefined when nothing of it is inside.
   */
  async readWindow(id: number, x0: number, y0: number, x1: number, y1: number): Promise<ImageWindow | undefined> {
    const rec = this.record(id);
    const ax = Math.max(0, Math.floor(x0));
    const ay = Math.max(0, Math.floor(y0));
    const bx = Math.min(rec.width - 1, Math.ceil(x1));
    const by = Math.min(rec.height - 1, Math.ceil(y1));
    if (bx < ax || by < ay) return undefined;
    const raster = await (await this.image(id)).read({ x: ax, y: ay, width: bx - ax + 1, height: by - ay + 1 });
    return { raster, x0: ax, y0: ay };
  }

  async close(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.all(all.map((p) => p.then((img) => img.close()).catch(() => {})));
  }
}

/** Whether pixel p is at least `margin` pixels inside the image (pixel centres 0 … size − 1). */
export function insideImage(rec: Pick<ImageRecord, "width" | "height">, p: PixelPoint, margin: number): boolean {
  return p.x >= margin && p.y >= margin && p.x <= rec.width - 1 - margin && p.y <= rec.height - 1 - margin;
}

/** The 2 × 2 linear part of a georeference's pixel → lon/lat map, [[a, b], [d, e]]. */
function linearPart(geo: AffineGeoreference): [[number, number], [number, number]] {
  const [a, b, , d, e] = geo.coefficients;
  return [[a, b], [d, e]];
}

/**
 * The a-priori linear map taking pixel offsets about a point of image `from` to pixel offsets about the same
 * ground point in image `to`: J = L_to⁻¹ · L_from, the Jacobian of pixel(to) with respect to pixel(from) through
 * the ground (exact for affine georeferences).
 */
export function pixelJacobian(from: AffineGeoreference, to: AffineGeoreference): [[number, number], [number, number]] {
  const [[a, b], [c, d]] = linearPart(from);
  const [[p, q], [r, s]] = linearPart(to);
  const det = p * s - q * r;
  const i00 = s / det, i01 = -q / det, i10 = -r / det, i11 = p / det;
  return [[i00 * a + i01 * c, i00 * b + i01 * d], [i10 * a + i11 * c, i10 * b + i11 * d]];
}

/** Planetocentric lon/lat (degrees) on a sphere → body-fixed X, Y, Z (metres). */
export function bodyFixed(g: LonLat, radius: number): { x: number; y: number; z: number } {
  const lon = (g.lon * Math.PI) / 180;
  const lat = (g.lat * Math.PI) / 180;
  return { x: radius * Math.cos(lat) * Math.cos(lon), y: radius * Math.cos(lat) * Math.sin(lon), z: radius * Math.sin(lat) };
}

/**
 * Lon/lat → local metres about `origin` (equirectangular: east, north). What the ring matcher's ground distances
 * are measured in; over an image pair (kilometres) the distortion is far below the rings' widths.
 */
export function localMetres(origin: LonLat, radius: number): (g: LonLat) => { xm: number; ym: number } {
  const k = (Math.PI / 180) * radius;
  const c = Math.cos((origin.lat * Math.PI) / 180);
  return (g) => ({ xm: k * c * (g.lon - origin.lon), ym: k * (g.lat - origin.lat) });
}

// ---------------------------------------------------------------- keypoints as bytea

/** Floats per stored keypoint: x, y, response, size, angle, octave (float32, little-endian). */
export const KEYPOINT_FIELDS = 6;

export function encodeKeypoints(kps: readonly Keypoint[]): Buffer {
  const out = Buffer.alloc(kps.length * KEYPOINT_FIELDS * 4);
  kps.forEach((k, i) => {
    const o = i * KEYPOINT_FIELDS * 4;
    out.writeFloatLE(k.x, o);
    out.writeFloatLE(k.y, o + 4);
    out.writeFloatLE(k.response, o + 8);
    out.writeFloatLE(k.size, o + 12);
    out.writeFloatLE(k.angle, o + 16);
    out.writeFloatLE(k.octave, o + 20);
  });
  return out;
}

export function decodeKeypoints(bytes: Uint8Array): Keypoint[] {
  const stride = KEYPOINT_FIELDS * 4;
  if (bytes.length % stride !== 0) throw new Error(`stored keypoints are ${bytes.length} bytes, not a whole number of ${stride}-byte rows`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Keypoint[] = [];
  for (let o = 0; o < bytes.length; o += stride) {
    out.push({
      x: view.getFloat32(o, true), y: view.getFloat32(o + 4, true), response: view.getFloat32(o + 8, true),
      size: view.getFloat32(o + 12, true), angle: view.getFloat32(o + 16, true), octave: view.getFloat32(o + 20, true),
    });
  }
  return out;
}

export type DescriptorType = "uint8" | "float32";

export function encodeDescriptors(d: Uint8Array | Float32Array): Buffer {
  if (d instanceof Uint8Array) return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  const out = Buffer.alloc(d.length * 4);
  for (let i = 0; i < d.length; i++) out.writeFloatLE(d[i]!, i * 4);
  return out;
}

export function decodeDescriptors(bytes: Uint8Array, type: DescriptorType): Uint8Array | Float32Array {
  if (type === "uint8") return Uint8Array.from(bytes);
  if (bytes.length % 4 !== 0) throw new Error(`stored float32 descriptors are ${bytes.length} bytes, not a multiple of 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** An image's stored features (the keypoints row). */
export interface StoredFeatures {
  imageId: number;
  method: string;
  keypoints: Keypoint[];
  descriptors: Uint8Array | Float32Array;
  descriptorSize: number;
  descriptorType: DescriptorType;
}

/** The stored features of an image; throws saying to run extract_features when there are none. */
export async function loadFeatures(db: Database, imageId: number, func: string): Promise<StoredFeatures> {
  const rows = await db.query<{ method: string; nkeypoints: number; keypoints: Uint8Array; descriptors: Uint8Array; descriptor_size: number; descriptor_type: string }>(
    "SELECT method, nkeypoints, keypoints, descriptors, descriptor_size, descriptor_type FROM keypoints WHERE image_id = $1", [imageId]);
  const r = rows[0];
  if (!r) throw new Error(`${func}: image ${imageId} has no keypoints; run apply('extract_features', {on: 'nodes'}) first`);
  const type = r.descriptor_type === "float32" ? "float32" : "uint8";
  const keypoints = decodeKeypoints(r.keypoints);
  const descriptors = decodeDescriptors(r.descriptors, type);
  const size = Number(r.descriptor_size);
  if (keypoints.length !== Number(r.nkeypoints) || descriptors.length !== keypoints.length * size) {
    throw new Error(`${func}: the keypoints row of image ${imageId} is inconsistent (${keypoints.length} keypoints, ${descriptors.length} descriptor values of size ${size}); run extract_features on it again`);
  }
  return { imageId, method: r.method, keypoints, descriptors, descriptorSize: size, descriptorType: type };
}

// ---------------------------------------------------------------- matches

/** One row of the matches table, before it has an id. */
export interface MatchRow {
  sourceIdx: number;
  destinationIdx: number;
  sourceX: number;
  sourceY: number;
  destinationX: number;
  destinationY: number;
  /** Where the source feature is in the destination image through the two a-priori georeferences. */
  destinationAprioriX: number;
  destinationAprioriY: number;
  distance: number;
  lon: number;
  lat: number;
}

/**
 * Matches of an edge as rows: positions, descriptor distances, the source feature's ground position, and its
 * a-priori position in the destination (so shift = measured − a priori is the georeferences' disagreement there).
 */
export function matchRows(
  src: StoredFeatures, dst: StoredFeatures, pairs: { s: number; d: number; distance: number }[],
  srcGeo: AffineGeoreference, dstGeo: AffineGeoreference,
): MatchRow[] {
  return pairs.map(({ s, d, distance }) => {
    const ks = src.keypoints[s]!;
    const kd = dst.keypoints[d]!;
    const g = srcGeo.pixelToGround(ks.x, ks.y);
    const a = dstGeo.groundToPixel(g.lon, g.lat);
    return {
      sourceIdx: s, destinationIdx: d, sourceX: ks.x, sourceY: ks.y, destinationX: kd.x, destinationY: kd.y,
      destinationAprioriX: a.x, destinationAprioriY: a.y, distance, lon: g.lon, lat: g.lat,
    };
  });
}

/**
 * Replaces an edge's matches, in one statement (so one transaction): the old rows go, the new ones come, and
 * the edge's results computed from the old rows (homography, fundamental, their masks and weights) are cleared,
 * since masks name match ids. `ring` is ring_match's winning ring (null for `match`).
 */
export async function replaceMatches(db: Database, source: number, destination: number, rows: MatchRow[], jobId: string, ring: number[] | null): Promise<number> {
  const col = <T>(f: (r: MatchRow) => T) => rows.map(f);
  await db.query(
    `WITH gone AS (DELETE FROM matches WHERE source = $1 AND destination = $2),
          edge AS (UPDATE edges SET homography = NULL, fundamental = NULL, masks = NULL, weights = NULL, ring = $15::float8[]
                    WHERE source = $1 AND destination = $2)
     INSERT INTO matches (source, source_idx, destination, destination_idx, source_x, source_y, destination_x, destination_y,
                          source_apriori_x, source_apriori_y, destination_apriori_x, destination_apriori_y, shift_x, shift_y,
                          distance, lat, lon, job_id)
     SELECT $1, t.si, $2, t.di, t.sx, t.sy, t.dx, t.dy, t.sx, t.sy, t.ax, t.ay, t.dx - t.ax, t.dy - t.ay, t.dist, t.lat, t.lon, $14
       FROM unnest($3::int[], $4::int[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::float8[],
                   $11::float8[], $12::float8[], $13::float8[]) WITH ORDINALITY AS t(si, di, sx, sy, dx, dy, ax, ay, dist, lat, lon, ord)
      ORDER BY t.ord`,
    [source, destination, col((r) => r.sourceIdx), col((r) => r.destinationIdx), col((r) => r.sourceX), col((r) => r.sourceY),
      col((r) => r.destinationX), col((r) => r.destinationY), col((r) => r.destinationAprioriX), col((r) => r.destinationAprioriY),
      col((r) => r.distance), col((r) => r.lat), col((r) => r.lon), jobId, ring],
  );
  return rows.length;
}

/** An edge's matches in id order: ids and the two pixel positions. */
export async function loadMatches(db: Database, source: number, destination: number, func: string, min: number):
  Promise<{ ids: number[]; src: PixelPoint[]; dst: PixelPoint[] }> {
  const rows = await db.query<{ id: string | number; source_x: number; source_y: number; destination_x: number; destination_y: number }>(
    "SELECT id, source_x, source_y, destination_x, destination_y FROM matches WHERE source = $1 AND destination = $2 ORDER BY id",
    [source, destination]);
  if (rows.length < min) {
    throw new Error(`${func} on edge (${source}, ${destination}) needs at least ${min} matches, found ${rows.length}; run match or ring_match on it first`);
  }
  return {
    ids: rows.map((r) => Number(r.id)),
    src: rows.map((r) => ({ x: Number(r.source_x), y: Number(r.source_y) })),
    dst: rows.map((r) => ({ x: Number(r.destination_x), y: Number(r.destination_y) })),
  };
}

/**
 * Stores one robust fit on an edge in one statement: the matrix column, and `name` merged into the masks
 * (kept match ids) and weights JSON, leaving the other fits' entries as they are.
 */
export async function storeEdgeFit(
  db: Database, source: number, destination: number, column: "homography" | "fundamental", matrix: number[],
  name: string, keptIds: number[], weights: Record<string, number>,
): Promise<void> {
  const rows = await db.query(
    `UPDATE edges SET ${column} = $3::float8[],
            masks = (COALESCE(masks::jsonb, '{}'::jsonb) || jsonb_build_object($4::text, $5::jsonb))::text,
            weights = (COALESCE(weights::jsonb, '{}'::jsonb) || $6::jsonb)::text
      WHERE source = $1 AND destination = $2 RETURNING source`,
    [source, destination, matrix, name, JSON.stringify(keptIds), JSON.stringify(weights)],
  );
  if (rows.length === 0) {
    throw new Error(`edge (${source}, ${destination}) is not in the edges table; load the graph (ncg.loadFromDatabase()) so overlaps become edges`);
  }
}

/** Root mean square of values (0 for none). */
export function rms(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let s = 0;
  for (const v of values) s += v * v;
  return Math.sqrt(s / values.length);
}
