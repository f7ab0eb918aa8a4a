/**
 * `ring_match` (edge): AutoCNet's ring matcher (`matcher/cpu_ring_matcher.py`, see src/vision/ring-match.ts) on
 * the two images' stored features, with each feature's ground position from its image's a-priori
 * georeference (local metres about the source image's centre) → matches rows, and the winning ring on the edge
 * (`edges.ring`, metres).
 *
 * kwargs (AutoCNet's names and defaults): `ring_radius` 4000, `max_radius` 40000 (metres), `target_points` 15,
 * `tolerance_val` 0.02, `iteration_break_point` 200; also `seed` (visiting order, default 0) and `ratio`
 * (Lowe on squared distances, default 1.5).
 *
 * It FAILS (throws) when fewer than `target_points` consistent pairs survive: the retry policy then runs it
 * again with the next step of a ladder of `{target_points, tolerance_val}` — the seed's
 * `ring_matcher_callback` re-parameterisation. The ladder is {@link RING_MATCH_LADDER} unless the apply gives
 * its own as kwarg `ladder` (a list of kwargs objects; step 0 describes the first attempt, which runs with the
 * apply's kwargs). After the last step the job is dead-lettered with the reason. A re-run replaces the edge's
 * matches (see replaceMatches).
 */
import { ringMatch, type RingFeature } from "../../vision/ring-match";
import type { JobMessage } from "../../queue/message";
import { ladder, type Failure, type RetryChanges, type RetryPolicy } from "../../worker/retry";
import type { JobContext } from "../../worker/registry";
import { edgeTarget, Kwargs, loadFeatures, loadImageRecords, localMetres, matchRows, replaceMatches, type StoredFeatures } from "./common";
import type { AffineGeoreference } from "../../image/georeference";

export const RING_MATCH = "ring_match";

/**
 * The default re-parameterisation: each failure relaxes the consensus — fewer points required, a looser
 * distance-ratio tolerance. Step 0 is AutoCNet's defaults (the first attempt's, unless the apply set others).
 */
export const RING_MATCH_LADDER: Readonly<Record<string, number>>[] = [
  { target_points: 15, tolerance_val: 0.02 },
  { target_points: 12, tolerance_val: 0.03 },
  { target_points: 9, tolerance_val: 0.04 },
  { target_points: 6, tolerance_val: 0.05 },
];

/** Marks the failure the ladder is for, in the error message the retry policy sees. */
export const TOO_FEW_POINTS = "fewer than target_points";

/** Other failures (no keypoints, a database error) are retried unchanged at most this many times in all. */
const OTHER_FAILURES = 3;

/**
 * The retry policy: a failure because too few points survived walks the ladder (kwarg `ladder`, else
 * {@link RING_MATCH_LADDER}) one step; past its last step the job is dead-lettered. Any other failure is retried
 * with the same kwargs, {@link OTHER_FAILURES} attempts in all.
 */
export function ringMatchPolicy(): RetryPolicy {
  return {
    maxfailures: 32,
    reparameterize: (message: JobMessage, failure: Failure): RetryChanges => {
      if (!(failure.cause === "exception" && failure.error?.includes(TOO_FEW_POINTS))) {
        return message.count + 1 >= OTHER_FAILURES ? false : undefined;
      }
      const own = message.kwargs.ladder;
      const steps = Array.isArray(own) && own.length > 0 && own.every((s) => s && typeof s === "object" && !Array.isArray(s))
        ? (own as Record<string, unknown>[]) : RING_MATCH_LADDER;
      return ladder(steps as Record<string, unknown>[])(message, failure);
    },
  };
}

export class RingMatchFailure extends Error {}

export async function ringMatchJob(ctx: JobContext): Promise<{ matches: number; ring: [number, number]; iterations: number; target_points: number; tolerance_val: number }> {
  const [source, destination] = edgeTarget(ctx, RING_MATCH);
  const k = new Kwargs(RING_MATCH, ctx.kwargs);
  const options = {
    ring_radius: k.number("ring_radius", 4000, { min: 0, exclusiveMin: true }),
    max_radius: k.number("max_radius", 40000, { min: 0, exclusiveMin: true }),
    target_points: k.number("target_points", 15, { integer: true, min: 2 }),
    tolerance_val: k.number("tolerance_val", 0.02, { min: 0, exclusiveMin: true }),
    iteration_break_point: k.number("iteration_break_point", 200, { integer: true, min: 1 }),
    seed: k.number("seed", 0, { integer: true }),
    ratio: k.number("ratio", 1.5, { min: 1 }),
  };
  if (options.max_radius < options.ring_radius) throw new Error(`${RING_MATCH}: max_radius (${options.max_radius}) is smaller than ring_radius (${options.ring_radius})`);
  const records = await loadImageRecords(ctx.db, [source, destination]);
  const srcRec = records.get(source)!;
  const dstRec = records.get(destination)!;
  const src = await loadFeatures(ctx.db, source, RING_MATCH);
  const dst = await loadFeatures(ctx.db, destination, RING_MATCH);
  if (src.descriptorType !== dst.descriptorType || src.descriptorSize !== dst.descriptorSize) {
    throw new Error(`${RING_MATCH}: images ${source} (${src.method}) and ${destination} (${dst.method}) have different descriptors; extract features with one method`);
  }
  const origin = srcRec.georef.pixelToGround((srcRec.width - 1) / 2, (srcRec.height - 1) / 2);
  const toMetres = localMetres(origin, srcRec.georef.radius);
  const ring = ringMatch(groundFeatures(src, srcRec.georef, toMetres), groundFeatures(dst, dstRec.georef, toMetres), src.descriptors, dst.descriptors, options);
  if (ring.status !== "ok") {
    const why = ring.reason === "input"
      ? `only ${Math.min(src.keypoints.length, dst.keypoints.length)} features in one image`
      : `the best distance-ratio consensus had ${ring.bestConsensus} pairs after ${ring.iterations} reference features`;
    throw new RingMatchFailure(
      `${RING_MATCH} on edge (${source}, ${destination}): ${TOO_FEW_POINTS} = ${options.target_points} pairs survive (${why}; ` +
      `tolerance_val ${options.tolerance_val}, ring_radius ${options.ring_radius} m)`);
  }
  const pairs = ring.refIdx.map((s, i) => ({ s, d: ring.tarIdx[i]!, distance: descriptorDistance(src, s, dst, ring.tarIdx[i]!) }));
  const rows = matchRows(src, dst, pairs, srcRec.georef, dstRec.georef);
  await replaceMatches(ctx.db, source, destination, rows, ctx.jobId, ring.ring);
  return { matches: rows.length, ring: ring.ring, iterations: ring.iterations, target_points: options.target_points, tolerance_val: options.tolerance_val };
}

function groundFeatures(f: StoredFeatures, geo: AffineGeoreference, toMetres: ReturnType<typeof localMetres>): RingFeature[] {
  return f.keypoints.map((kp) => ({ x: kp.x, y: kp.y, ...toMetres(geo.pixelToGround(kp.x, kp.y)) }));
}

/** Hamming (binary) or L2 (float) distance between two stored descriptors, as `match` records it. */
function descriptorDistance(a: StoredFeatures, i: number, b: StoredFeatures, j: number): number {
  const n = a.descriptorSize;
  let d = 0;
  if (a.descriptors instanceof Uint8Array) {
    for (let k = 0; k < n; k++) {
      let v = a.descriptors[i * n + k]! ^ b.descriptors[j * n + k]!;
      while (v) {
        d += v & 1;
        v >>>= 1;
      }
    }
    return d;
  }
  for (let k = 0; k < n; k++) {
    const e = a.descriptors[i * n + k]! - b.descriptors[j * n + k]!;
    d += e * e;
  }
  return Math.sqrt(d);
}
