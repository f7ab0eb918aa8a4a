import type { Database } from "../database/database";
import { overlaps, parseFootprint, toGeoJSON, type MultiPolygonCoords } from "../geometry/polygons";
import { edgeKey, type AddImagesReport, type EdgeAttributes, type ImageInput, type NodeAttributes } from "./model";

/**
 * Images in, graph out: writing images with their footprints, and reading nodes and their overlaps (the
 * edges) back from the database. Pure database work; the graph front calls it.
 */

/** Adds (or updates, by name) images with their footprints. Invalid footprints are stored as ignored, with the reason. */
export async function addImages(db: Database, images: ImageInput[], log: (line: string) => void): Promise<AddImagesReport> {
  const report: AddImagesReport = { added: 0, updated: 0, ignored: [] };
  for (const image of images) {
    const parsed = parseFootprint(image.footprint);
    const footprint = parsed.ok ? JSON.stringify(toGeoJSON(parsed.coords)) : typeof image.footprint === "string" ? image.footprint : JSON.stringify(image.footprint ?? null);
    if (!parsed.ok) {
      report.ignored.push({ name: image.name, reason: parsed.reason });
      log(`image ${image.name}: invalid footprint (${parsed.reason}); stored with ignore = true`);
    }
    const rows = await db.query<{ inserted: boolean }>(
      `INSERT INTO images (name, path, footprint, ignore, ignore_reason) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (name) DO UPDATE SET path = EXCLUDED.path, footprint = EXCLUDED.footprint,
         ignore = EXCLUDED.ignore, ignore_reason = EXCLUDED.ignore_reason
       RETURNING (xmax = 0) AS inserted`,
      [image.name, image.path ?? null, footprint, !parsed.ok, parsed.ok ? null : parsed.reason],
    );
    if (rows[0]?.inserted) report.added++;
    else report.updated++;
  }
  return report;
}

/**
 * Nodes are the rows of `query` (honoured exactly; it must return `id`), edges the pairs among them whose
 * footprints overlap with a positive area: by PostGIS where the server has it, else in TypeScript (the
 * same rule). Footprints that do not parse are reported, marked ignored and left out. Edges are stored.
 */
export async function loadGraph(db: Database, query: string, params: unknown[], log: (line: string) => void):
  Promise<{ nodes: Map<number, NodeAttributes>; edges: Map<string, EdgeAttributes> }> {
  let rows: Record<string, unknown>[];
  try {
    rows = await db.query(query, params);
  } catch (err) {
    throw new Error(`fromDatabase: the query failed: ${(err as Error).message} (query: ${query.slice(0, 200)})`);
  }
  if (rows.length > 0 && !("id" in rows[0]!)) throw new Error("fromDatabase: the query must return an 'id' column (the images' ids)");
  const ids = rows.map((r) => Number(r.id));
  const fpRows = await db.query<{ id: number; name: string; footprint: string | null }>(
    "SELECT id, name, footprint FROM images WHERE id = ANY($1)", [ids]);
  const footprints = new Map(fpRows.map((r) => [Number(r.id), r]));
  const nodes = new Map<number, NodeAttributes>();
  const edges = new Map<string, EdgeAttributes>();
  const valid: { id: number; coords: MultiPolygonCoords }[] = [];
  for (const row of rows) {
    const id = Number(row.id);
    const fp = footprints.get(id);
    const parsed = parseFootprint(fp?.footprint ?? null);
    if (!parsed.ok) {
      log(`image ${id} (${fp?.name ?? "?"}): invalid footprint (${parsed.reason}); marked ignored, left out of the graph`);
      await db.query("UPDATE images SET ignore = true, ignore_reason = $2 WHERE id = $1", [id, parsed.reason]);
      continue;
    }
    const { footprint: _raw, geom: _geom, ...columns } = row;
    nodes.set(id, { ...columns, id, name: String(row.name ?? fp?.name ?? id), footprint: parsed.coords, jobStatus: {} });
    valid.push({ id, coords: parsed.coords });
  }
  const found = db.postgis ? await postgisOverlaps(db, valid.map((v) => v.id)) : overlaps(valid).map((o) => ({
    source: o.source, destination: o.destination, area: o.area, overlap: o.intersection,
  }));
  for (const o of found) {
    edges.set(edgeKey(o.source, o.destination), { source: o.source, destination: o.destination, overlap: o.overlap, overlapArea: o.area, jobStatus: {} });
  }
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
