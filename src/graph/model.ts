import type { MultiPolygonCoords, FootprintInput } from "../geometry/polygons";
import { isEdgeTarget, type Target } from "../queue/message";

/**
 * The graph's model: what a node and an edge carry, and the filter language of `apply`. Imports nothing
 * from the graph's machinery, so displays and jobs can use these types without loops.
 */
/** What the graph knows of one function's jobs on one node or edge (persisted in `job_status`). */
export interface JobStatus {
  success: boolean;
  /** Attempts the job took (the winning attempt, or all of them when dead-lettered). */
  attempts: number;
  lastParams?: Record<string, unknown>;
  finishedAt: string;
  jobId?: string;
  /** Why it was dead-lettered. */
  reason?: string;
  /** What the job function returned (JSON; above 16 KiB replaced by `{truncated: true, bytes}`). */
  result?: unknown;
}

export interface NodeAttributes {
  id: number;
  name: string;
  path?: string | null;
  footprint?: MultiPolygonCoords;
  /** The footprint's area on the target body, km² (radius from the image's georeference, else config spatial.semimajor_rad). */
  areaKm2?: number;
  jobStatus: Record<string, JobStatus>;
  /** Further columns of the query's rows. */
  [column: string]: unknown;
}

export interface EdgeAttributes {
  source: number;
  destination: number;
  overlap?: MultiPolygonCoords;
  /** Planar area of the overlap in square degrees (what the overlap rule and PostGIS use). */
  overlapArea: number;
  /** The overlap's area on the target body, km², when a radius is known. */
  overlapAreaKm2?: number;
  jobStatus: Record<string, JobStatus>;
}

/**
 * An image to add: a footprint (GeoJSON Polygon/MultiPolygon, a Feature of one, or WKT), or a `path` to an
 * ISIS3 cube or GeoTIFF from which the footprint, size and georeference are read. `addImages` also takes
 * plain paths.
 */
export interface ImageInput {
  name: string;
  path?: string;
  footprint?: FootprintInput;
}

export interface AddImagesReport {
  added: number;
  updated: number;
  /** Footprints that are invalid: stored with `ignore = true` and the reason. */
  ignored: { name: string; reason: string }[];
}

/** Attribute filters: a value to equal, or a predicate; keys may be dotted paths (`jobStatus.overlap.success`). */
export type Filters = Record<string, unknown> | ((attributes: NodeAttributes | EdgeAttributes) => boolean);

export const edgeKey = (source: number, destination: number) =>
  source < destination ? `${source}-${destination}` : `${destination}-${source}`;

/** The attributes a target (a node id or [source, destination]) names, from these maps. */
export function attributesOf(nodes: Map<number, NodeAttributes>, edges: Map<string, EdgeAttributes>, target: Target): NodeAttributes | EdgeAttributes | undefined {
  if (isEdgeTarget(target)) return edges.get(edgeKey(Number(target[0]), Number(target[1])));
  return nodes.get(Number(target));
}

/** A target in its canonical form: edges as [smaller, larger] numbers. */
export function normaliseTarget(t: Target): Target {
  return isEdgeTarget(t) ? [Number(t[0]), Number(t[1])].sort((a, b) => a - b) as [number, number] : t;
}

/** Whether attributes pass the filters: every key (a dotted path) equals its value or satisfies its predicate. */
export function matchesFilters(attrs: NodeAttributes | EdgeAttributes, filters: Filters): boolean {
  if (typeof filters === "function") return filters(attrs);
  return Object.entries(filters).every(([key, want]) => {
    let v: unknown = attrs;
    for (const part of key.split(".")) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[part];
    return typeof want === "function" ? Boolean((want as (x: unknown, a: unknown) => unknown)(v, attrs)) : v === want;
  });
}
