import * as path from "path";
import type { Database } from "../database/database";
import { footprintWkt, storeGeoreference, type StoredGeoreference } from "../image/georeference";
import { openImage, type Image } from "../image";
import { pvlGet, pvlScalar } from "../pvl";
import { areaKm2, overlaps, parseFootprint, toGeoJSON, type MultiPolygonCoords } from "../geometry/polygons";
import { edgeKey, type AddImagesReport, type EdgeAttributes, type ImageInput, type NodeAttributes } from "./model";

/**
 * Images in, graph out: writing images with their footprints, and reading nodes and their overlaps (the
 * edges) back from the database. Pure database work; the graph front calls it.
 */

/** What a file says about itself: footprint (WKT), size, format, georeference and ISIS serial number. */
interface FileFacts {
  footprint: string;
  format: string;
  width: number;
  height: number;
  bands: number;
  serial: string;
  georef: StoredGeoreference;
}

/** The name an image gets from its path: the file name without its extension. */
export function imageNameOf(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

/**
 * The ISIS serial number of an image: SpacecraftName/InstrumentId/StartTime from an ISIS label's Instrument
 * group, as ISIS forms it for framing cameras; otherwise the image's name (GeoTIFFs, map-projected mosaics).
 */
function serialOf(image: Image, name: string): string {
  if (image.format !== "isis3") return name;
  const get = (k: string) => pvlScalar(pvlGet(image.label, "IsisCube", "Instrument", k));
  const parts = [get("SpacecraftName"), get("InstrumentId"), get("StartTime")];
  return parts.every((p) => p !== undefined && String(p) !== "") ? parts.map(String).join("/") : name;
}

/** Reads a file's facts; a string saying why not (unreadable, no georeference) otherwise. */
async function readFileFacts(file: string, name: string): Promise<FileFacts | string> {
  let image: Image;
  try {
    image = await openImage(file);
  } catch (err) {
    return `cannot read ${file}: ${(err as Error).message}`;
  }
  try {
    const geo = image.georeference;
    if (!geo) {
      return image.georeferenceProblem ??
        `${file} has no georeference (no ISIS Mapping group, no GeoTIFF georeferencing, no ${path.basename(file)}.georef.json beside it); ` +
        "give a footprint, or write the sidecar (see README: images)";
    }
    const stored = storeGeoreference(geo);
    // the database keeps an affine map: refuse a georeference that is not one (planetographic latitudes)
    const far = geo.pixelToGround(image.width - 1, image.height - 1);
    const [ca, cb, cc, cd, ce, cf] = stored.affine;
    const dLon = ca * (image.width - 1) + cb * (image.height - 1) + cc - far.lon, dLat = cd * (image.width - 1) + ce * (image.height - 1) + cf - far.lat;
    const pixelDeg = Math.hypot(ca, cd) || 1;
    if (Math.hypot(dLon, dLat) > 1e-6 * pixelDeg) {
      return `${file}: its ${geo.kind} georeference is not affine in longitude/latitude (off by ${(Math.hypot(dLon, dLat) / pixelDeg).toExponential(2)} px at the far corner); ` +
        "the database stores affine georeferences only: map-project it to planetocentric latitudes, or give a .georef.json";
    }
    return {
      footprint: footprintWkt(geo, image.width, image.height), format: image.format, width: image.width, height: image.height,
      bands: image.bands, serial: serialOf(image, name), georef: stored,
    };
  } finally {
    await image.close().catch(() => {});
  }
}

/**
 * Adds (or updates, by name) images: from a footprint, or from a file (a path, or `{name, path}` without a
 * footprint), whose footprint, size, georeference and serial number are read from it. Invalid footprints and
 * unreadable or ungeoreferenced files are stored with `ignore = true` and the reason, and reported.
 */
export async function addImages(db: Database, images: (ImageInput | string)[], log: (line: string) => void): Promise<AddImagesReport> {
  const report: AddImagesReport = { added: 0, updated: 0, ignored: [] };
  const warnings = new WarningSummary("stored with ignore = true; all reasons: SELECT name, ignore_reason FROM images WHERE ignore");
  for (const input of images) {
    const image: ImageInput = typeof input === "string" ? { name: imageNameOf(input), path: input } : input;
    let facts: FileFacts | undefined;
    let footprintInput = image.footprint;
    let problem: string | undefined;
    if (footprintInput === undefined) {
      if (!image.path) problem = "neither a footprint nor a path to read one from";
      else {
        const read = await readFileFacts(path.resolve(image.path), image.name);
        if (typeof read === "string") problem = read;
        else {
          facts = read;
          footprintInput = read.footprint;
        }
      }
    }
    const parsed = problem ? { ok: false as const, reason: problem } : parseFootprint(footprintInput ?? null);
    const footprint = parsed.ok ? JSON.stringify(toGeoJSON(parsed.coords))
      : typeof footprintInput === "string" ? footprintInput : footprintInput === undefined ? null : JSON.stringify(footprintInput);
    if (!parsed.ok) {
      report.ignored.push({ name: image.name, reason: parsed.reason });
      warnings.add(problem ? parsed.reason : `invalid footprint (${parsed.reason})`, image.name, [image.path, image.name]);
    }
    const rows = await db.query<{ inserted: boolean }>(
      `INSERT INTO images (name, path, footprint, ignore, ignore_reason, format, width, height, bands, serial, georef)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (name) DO UPDATE SET path = EXCLUDED.path, footprint = EXCLUDED.footprint,
         ignore = EXCLUDED.ignore, ignore_reason = EXCLUDED.ignore_reason, format = EXCLUDED.format, width = EXCLUDED.width,
         height = EXCLUDED.height, bands = EXCLUDED.bands, serial = EXCLUDED.serial, georef = EXCLUDED.georef
       RETURNING (xmax = 0) AS inserted`,
      [image.name, image.path ? path.resolve(image.path) : null, footprint, !parsed.ok, parsed.ok ? null : parsed.reason,
        facts?.format ?? null, facts?.width ?? null, facts?.height ?? null, facts?.bands ?? null, facts?.serial ?? image.name,
        facts ? JSON.stringify(facts.georef) : null],
    );
    if (rows[0]?.inserted) report.added++;
    else report.updated++;
  }
  warnings.flush(log);
  return report;
}

/**
 * Nodes are the rows of `query` (honoured exactly; it must return `id`), edges the pairs among them whose
 * footprints overlap with a positive area: by PostGIS where the server has it, else in TypeScript (the
 * same rule). Footprints that do not parse are reported, marked ignored and left out. Edges are stored.
 */
export async function loadGraph(db: Database, query: string, params: unknown[], log: (line: string) => void, defaultRadius?: number):
  Promise<{ nodes: Map<number, NodeAttributes>; edges: Map<string, EdgeAttributes> }> {
  let rows: Record<string, unknown>[];
  try {
    rows = await db.query(query, params);
  } catch (err) {
    throw new Error(`fromDatabase: the query failed: ${(err as Error).message} (query: ${query.slice(0, 200)})`);
  }
  if (rows.length > 0 && !("id" in rows[0]!)) throw new Error("fromDatabase: the query must return an 'id' column (the images' ids)");
  const ids = rows.map((r) => Number(r.id));
  const fpRows = await db.query<{ id: number; name: string; footprint: string | null; georef: string | null }>(
    "SELECT id, name, footprint, georef FROM images WHERE id = ANY($1)", [ids]);
  const footprints = new Map(fpRows.map((r) => [Number(r.id), r]));
  const nodes = new Map<number, NodeAttributes>();
  const edges = new Map<string, EdgeAttributes>();
  const valid: { id: number; coords: MultiPolygonCoords }[] = [];
  const radii = new Map<number, number>();
  const warnings = new WarningSummary("marked ignored, left out of the graph; all reasons: SELECT name, ignore_reason FROM images WHERE ignore");
  for (const row of rows) {
    const id = Number(row.id);
    const fp = footprints.get(id);
    const parsed = parseFootprint(fp?.footprint ?? null);
    if (!parsed.ok) {
      warnings.add(`invalid footprint (${parsed.reason})`, fp?.name ?? String(id), [fp?.name]);
      await db.query("UPDATE images SET ignore = true, ignore_reason = $2 WHERE id = $1", [id, parsed.reason]);
      continue;
    }
    const { footprint: _raw, geom: _geom, georef: _georef, ...columns } = row;
    const radius = radiusOf(fp?.georef) ?? defaultRadius;
    nodes.set(id, {
      ...columns, id, name: String(row.name ?? fp?.name ?? id), footprint: parsed.coords,
      ...(radius ? { areaKm2: areaKm2(parsed.coords, radius) } : {}), jobStatus: {},
    });
    if (radius) radii.set(id, radius);
    valid.push({ id, coords: parsed.coords });
  }
  const found = db.postgis ? await postgisOverlaps(db, valid.map((v) => v.id)) : overlaps(valid).map((o) => ({
    source: o.source, destination: o.destination, area: o.area, overlap: o.intersection,
  }));
  for (const o of found) {
    const radius = radii.get(o.source) ?? radii.get(o.destination);
    edges.set(edgeKey(o.source, o.destination), {
      source: o.source, destination: o.destination, overlap: o.overlap, overlapArea: o.area,
      ...(radius ? { overlapAreaKm2: areaKm2(o.overlap, radius) } : {}), jobStatus: {},
    });
  }
  warnings.flush(log);
  await storeEdges(db, [...edges.values()]);
  return { nodes, edges };
}

async function postgisOverlaps(db: Database, ids: number[]): Promise<{ source: number; destination: number; area: number; overlap: MultiPolygonCoords }[]> {
  const rows = await db.query<{ source: number; destination: number; area: number; overlap: string }>(
    `SELECT source, destination, ST_Area(inter) AS area, ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(inter, 3))) AS overlap
       FROM (SELECT a.id AS source, b.id AS destination, ST_Intersection(a.geom, b.geom) AS inter
               FROM images a JOIN images b ON a.id < b.id AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom)
              WHERE a.id = ANY($1) AND b.id = ANY($1)) AS pairs
      WHERE ST_Area(inter) > 1e-12
      ORDER BY source, destination`, [ids]);
  return rows.map((r) => ({
    source: Number(r.source), destination: Number(r.destination), area: Number(r.area),
    overlap: (JSON.parse(r.overlap) as { coordinates: MultiPolygonCoords }).coordinates,
  }));
}

async function storeEdges(db: Database, all: EdgeAttributes[]): Promise<void> {
  for (let i = 0; i < all.length; i += 500) {
    const chunk = all.slice(i, i + 500);
    await db.query(
      `INSERT INTO edges (source, destination, overlap, overlap_area)
       SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::float8[])
       ON CONFLICT (source, destination) DO UPDATE SET overlap = EXCLUDED.overlap, overlap_area = EXCLUDED.overlap_area`,
      [chunk.map((e) => e.source), chunk.map((e) => e.destination),
        chunk.map((e) => JSON.stringify(toGeoJSON(e.overlap ?? []))), chunk.map((e) => e.overlapArea)],
    );
  }
}

/**
 * Warnings about many images, summarised: one line per reason with how many images and the first few names,
 * instead of a line per image (25 000 images with 22 000 bad footprints print a handful of lines). Every
 * reason stays queryable in the database.
 */
export class WarningSummary {
  private readonly byReason = new Map<string, string[]>();

  constructor(private readonly consequence: string, private readonly firstNames = 3) {}

  /** `mentions`: the image's own path or name inside the reason, replaced so that equal problems group together. */
  add(reason: string, name: string, mentions: (string | undefined)[] = []): void {
    let key = reason;
    for (const m of mentions) if (m) key = key.split(m).join("…");
    const names = this.byReason.get(key) ?? [];
    names.push(name);
    this.byReason.set(key, names);
  }

  lines(): string[] {
    return [...this.byReason].map(([reason, names]) => {
      const shown = names.slice(0, this.firstNames).join(", ") + (names.length > this.firstNames ? `, … (${names.length - this.firstNames} more)` : "");
      return names.length === 1 ? `image ${names[0]}: ${reason}; ${this.consequence}`
        : `${names.length} images: ${reason} (${shown}); ${this.consequence}`;
    });
  }

  flush(log: (line: string) => void): void {
    for (const line of this.lines()) log(line);
    this.byReason.clear();
  }
}

/** The body radius (metres) stored with an image's georeference, if any. */
function radiusOf(georef: string | null | undefined): number | undefined {
  if (!georef) return undefined;
  try {
    const r = (JSON.parse(georef) as { radius?: unknown }).radius;
    return typeof r === "number" && r > 0 ? r : undefined;
  } catch {
    return undefined;
  }
}
