import { area, centroid, intersection, parseFootprint, toGeoJSON, type MultiPolygonCoords } from "../geometry/polygons";
import type { Database } from "../database";
import type { JobContext, JobRegistry } from "../worker/registry";
import { registerMatchingJobs } from "./matching";

/**
 * Jobs every worker knows:
 * - `overlap` (edge): the intersection polygon and area of the two images' footprints -> `overlap_results`.
 * - `footprint_stats` (node): the footprint's area and centroid -> `footprint_stats`.
 * - the matching pipeline (extract_features, match, ring_match, compute_homography, compute_fundamental_matrix,
 *   place_points_in_overlap, subpixel_register_point): see jobs/matching/.
 * - `noop`, for throughput figures; `sleep` (kwargs `seconds`, honours abort unless `ignore_abort`).
 *
 * Results are upserts keyed by the target, so a job that runs twice (at-least-once delivery) writes once.
 * `overlap` takes `delay_seconds`: a stall before the work that ignores the abort signal (a hung native
 * call, say) — what the demo uses to make one attempt outlive its walltime. Its retry policy drops the
 * stall and doubles the walltime after a walltime or heartbeat failure.
 */
export function registerBuiltinJobs(registry: JobRegistry): JobRegistry {
  registry.register("noop", () => undefined);

  registry.register("sleep", ({ kwargs, signal }) => {
    const ms = Number(kwargs.seconds ?? 1) * 1000;
    return new Promise<{ slept: number }>((resolve, reject) => {
      const t = setTimeout(() => resolve({ slept: ms / 1000 }), ms);
      if (!kwargs.ignore_abort) {
        signal.addEventListener("abort", () => {
          clearTimeout(t);
          reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
        }, { once: true });
      }
    });
  });

  registry.register("overlap", async (ctx) => {
    const [source, destination] = edgeOf(ctx);
    const stall = Number(ctx.kwargs.delay_seconds ?? 0);
    if (stall > 0) await new Promise((r) => setTimeout(r, stall * 1000));
    const fp = await footprints(ctx.db, [source, destination]);
    const inter = intersection(fp.get(source)!, fp.get(destination)!);
    const a = area(inter);
    await ctx.db.query(
      `INSERT INTO overlap_results (source, destination, job_id, area, intersection) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (source, destination) DO UPDATE SET job_id = EXCLUDED.job_id, area = EXCLUDED.area,
         intersection = EXCLUDED.intersection, computed_at = now()`,
      [source, destination, ctx.jobId, a, JSON.stringify(toGeoJSON(inter))],
    );
    return { area: a };
  }, {
    reparameterize: (message, failure) =>
      failure.cause === "walltime" || failure.cause === "heartbeat"
        ? { kwargs: { ...message.kwargs, delay_seconds: 0 }, walltime: message.walltime * 2 }
        : undefined,
  });

  registry.register("footprint_stats", async (ctx) => {
    const id = Number(ctx.id);
    if (!Number.isInteger(id)) throw new Error(`footprint_stats runs on nodes (image ids), got ${JSON.stringify(ctx.id)}`);
    const fp = (await footprints(ctx.db, [id])).get(id)!;
    const a = area(fp);
    const [lon, lat] = centroid(fp);
    await ctx.db.query(
      `INSERT INTO footprint_stats (image_id, job_id, area, centroid_lon, centroid_lat) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (image_id) DO UPDATE SET job_id = EXCLUDED.job_id, area = EXCLUDED.area,
         centroid_lon = EXCLUDED.centroid_lon, centroid_lat = EXCLUDED.centroid_lat, computed_at = now()`,
      [id, ctx.jobId, a, lon, lat],
    );
    return { area: a, centroid: [lon, lat] };
  });
  registerMatchingJobs(registry);
  return registry;
}

function edgeOf(ctx: JobContext): [number, number] {
  const id = ctx.id;
  if (!Array.isArray(id) || id.length !== 2 || !id.every((x) => Number.isInteger(Number(x)))) {
    throw new Error(`overlap runs on edges ([source, destination] image ids), got ${JSON.stringify(id)}`);
  }
  return [Number(id[0]), Number(id[1])];
}

async function footprints(db: Database, ids: number[]): Promise<Map<number, MultiPolygonCoords>> {
  const rows = await db.query<{ id: number; footprint: string | null }>("SELECT id, footprint FROM images WHERE id = ANY($1)", [ids]);
  const out = new Map<number, MultiPolygonCoords>();
  for (const row of rows) {
    const parsed = parseFootprint(row.footprint);
    if (!parsed.ok) throw new Error(`image ${row.id} has an invalid footprint: ${parsed.reason}`);
    out.set(Number(row.id), parsed.coords);
  }
  for (const id of ids) if (!out.has(id)) throw new Error(`image ${id} is not in the images table`);
  return out;
}
