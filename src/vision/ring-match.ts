/**
 * AutoCNet's ring matcher (`matcher/cpu_ring_matcher.py`, after Sidiropoulos & Muller, IEEE TGRS 2017): match the
 * features of a reference image to those of a target image whose a-priori georeference may be off by kilometres.
 *
 * Inputs: for every feature its image pixel (x, y) and its a-priori ground position (xm, ym), body-fixed metres, in
 * the same frame for both images; descriptors row-major (`Float32Array`: L2; `Uint8Array`: treated as binary, Hamming).
 *
 * Idea: the georeference error is (locally) a common offset, so each true correspondence lies at about the same
 * ground distance from its reference feature — the error — though the direction and the distance are unknown.
 * 1. Reference features are visited in a (seeded) random order. For each, the target features are split into rings
 *    of width `ring_radius` by ground distance from it, out to `max_radius`. In every ring with at least
 *    `target_points` candidates, the nearest descriptor is accepted if it passes Lowe's test against the second
 *    nearest (squared distances: best × `ratio` < second best, ratio 1.5 as AutoCNet's `sift_match`).
 * 2. Every `iteration_break_point` reference features (and after the last), each ring with at least `target_points`
 *    candidate pairs gets the distance-ratio consensus (`ransac_permute`): for pairs i, j, the pixel distance
 *    between the reference features over that between the target features should be 1 ± `tolerance_val` (same pixel
 *    scale, any rotation). The largest set of pairs mutually consistent with one pair's consistent set wins; if it
 *    has ≥ `target_points` pairs, that ring is the answer.
 * 3. Pairs sharing a target feature are ambiguous and dropped (AutoCNet's `check_pidx_duplicates`).
 *
 * Differences from AutoCNet, on purpose: the RNG is seeded (repeatable); the consensus also runs after the last
 * reference feature (AutoCNet's end-of-loop test can never fire, so up to `iteration_break_point − 1` features were
 * never checked); and a failed match returns a reason instead of `None`s, so a job can fail cleanly and its retry
 * policy try the next rung of a parameter ladder (wider rings, lower `target_points`).
 */
import { seededRandom } from "./random";

export interface RingFeature {
  /** Pixel coordinates in its image. */
  x: number;
  y: number;
  /** A-priori ground coordinates, metres (same frame for reference and target). */
  xm: number;
  ym: number;
}

export interface RingMatchOptions {
  ring_radius?: number;
  max_radius?: number;
  target_points?: number;
  tolerance_val?: number;
  iteration_break_point?: number;
  /** Seed of the reference visiting order; default 0. */
  seed?: number;
  /** Lowe's ratio on squared descriptor distances; default 1.5 (AutoCNet's `sift_match` thresh). */
  ratio?: number;
}

export type RingMatchResult =
  | {
      status: "ok";
      refIdx: number[];
      tarIdx: number[];
      /** Inner and outer ground distance of the winning ring, metres. */
      ring: [number, number];
      /** Reference features visited before the consensus was found. */
      iterations: number;
    }
  | {
      status: "too-few-points";
      /** `input`: fewer features than `target_points`; `exhausted`: every reference feature tried, no consensus. */
      reason: "input" | "exhausted";
      /** Largest consensus seen in any ring (AutoCNet's max_cons), to tell how far off the parameters were. */
      bestConsensus: number;
      iterations: number;
    };

/** Ring matching; see the file comment. `refDesc`/`tarDesc` hold one row per feature. */
export function ringMatch(
  ref: ArrayLike<RingFeature>,
  tar: ArrayLike<RingFeature>,
  refDesc: Float32Array | Uint8Array,
  tarDesc: Float32Array | Uint8Array,
  options: RingMatchOptions = {},
): RingMatchResult {
  const ringRadius = options.ring_radius ?? 4000;
  const maxRadius = options.max_radius ?? 40000;
  const targetPoints = options.target_points ?? 15;
  const tolerance = options.tolerance_val ?? 0.02;
  const breakPoint = options.iteration_break_point ?? 200;
  const ratio = options.ratio ?? 1.5;
  const nRef = ref.length;
  const nTar = tar.length;
  if (nRef === 0 || nTar === 0 || nRef < targetPoints || nTar < targetPoints) {
    return { status: "too-few-points", reason: "input", bestConsensus: 0, iterations: 0 };
  }
  const size = refDesc.length / nRef;
  if (!Number.isInteger(size) || tarDesc.length !== size * nTar) {
    throw new RangeError("descriptor arrays must hold one row of equal length per feature");
  }
  const binary = refDesc instanceof Uint8Array;
  if (binary !== tarDesc instanceof Uint8Array) throw new RangeError("reference and target descriptor types differ");
  const ringCount = Math.floor(maxRadius / ringRadius);

  // Candidate pairs per ring.
  const pairs: { ref: number[]; tar: number[] }[] = Array.from({ length: ringCount }, () => ({ ref: [], tar: [] }));
  const order = shuffled(nRef, seededRandom(options.seed ?? 0));
  const members: number[][] = Array.from({ length: ringCount }, () => []);
  let bestConsensus = 0;

  for (let t = 0; t < nRef; t++) {
    const r = order[t]!;
    const rf = ref[r]!;
    for (const m of members) m.length = 0;
    for (let j = 0; j < nTar; j++) {
      const d = Math.hypot(rf.xm - tar[j]!.xm, rf.ym - tar[j]!.ym);
      const ring = Math.floor(d / ringRadius);
      if (ring < ringCount) members[ring]!.push(j);
    }
    for (let i = 0; i < ringCount; i++) {
      const cand = members[i]!;
      if (cand.length < targetPoints) continue;
      const match = ratioMatch(refDesc, r, tarDesc, cand, size, binary, ratio);
      if (match !== undefined) {
        pairs[i]!.ref.push(r);
        pairs[i]!.tar.push(match);
      }
    }
    const visited = t + 1;
    if (visited % breakPoint === 0 || visited === nRef) {
      for (let j = 0; j < ringCount; j++) {
        const p = pairs[j]!;
        if (p.ref.length < targetPoints) continue;
        const keep = distanceRatioConsensus(ref, tar, p.ref, p.tar, tolerance, targetPoints);
        bestConsensus = Math.max(bestConsensus, keep.length);
        if (keep.length < targetPoints) continue;
        const unique = dropDuplicates(
          keep.map((k) => p.ref[k]!),
          keep.map((k) => p.tar[k]!),
        );
        if (unique.ref.length < targetPoints) continue;
        return {
          status: "ok",
          refIdx: unique.ref,
          tarIdx: unique.tar,
          ring: [j * ringRadius, (j + 1) * ringRadius],
          iterations: visited,
        };
      }
    }
  }
  return { status: "too-few-points", reason: "exhausted", bestConsensus, iterations: nRef };
}

/** A seeded random permutation of 0…n−1 (the order AutoCNet's repeated random choice without replacement gives). */
function shuffled(n: number, rnd: () => number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

const POPCOUNT8 = (() => {
  const t = new Uint8Array(256);
  for (let i = 1; i < 256; i++) t[i] = (i & 1) + t[i >> 1]!;
  return t;
})();

/**
 * AutoCNet's `sift_match`: squared descriptor distances from reference row `r` to the candidate target rows; the
 * nearest wins if it is unique, not everything is equal, and best × ratio < second-best distinct distance.
 */
function ratioMatch(
  refDesc: Float32Array | Uint8Array,
  r: number,
  tarDesc: Float32Array | Uint8Array,
  cand: number[],
  size: number,
  binary: boolean,
  ratio: number,
): number | undefined {
  const a = r * size;
  let best = Infinity;
  let bestIdx = -1;
  let bestCount = 0;
  const dists = new Float64Array(cand.length);
  for (let c = 0; c < cand.length; c++) {
    const b = cand[c]! * size;
    let d = 0;
    if (binary) {
      for (let k = 0; k < size; k++) d += POPCOUNT8[(refDesc[a + k]! ^ tarDesc[b + k]!) & 255]!;
      d *= d;
    } else {
      for (let k = 0; k < size; k++) {
        const e = refDesc[a + k]! - tarDesc[b + k]!;
        d += e * e;
      }
    }
    dists[c] = d;
    if (d < best) {
      best = d;
      bestIdx = c;
      bestCount = 1;
    } else if (d === best) bestCount++;
  }
  if (bestIdx < 0 || bestCount > 1) return undefined;
  let second = Infinity;
  for (let c = 0; c < cand.length; c++) if (dists[c]! !== best && dists[c]! < second) second = dists[c]!;
  if (second === Infinity) return undefined;
  return best * ratio < second ? cand[bestIdx] : undefined;
}

/**
 * AutoCNet's `ransac_permute` on pixel coordinates: q[i][j] = pair i and pair j keep their pixel distance within
 * 1 ± tolerance; if some pair has ≥ target consistent partners, m[i][j] = |q[i] ∧ q[j]| (m[i][i] = target + 1),
 * the row f with the most entries m ≥ target wins and its set {j : m[f][j] ≥ target} is returned (indices into the
 * pair lists). Rows are bitsets, so the O(n³) step is n²·n/32 word operations.
 */
function distanceRatioConsensus(
  ref: ArrayLike<RingFeature>,
  tar: ArrayLike<RingFeature>,
  refIdx: number[],
  tarIdx: number[],
  tolerance: number,
  target: number,
): number[] {
  const n = refIdx.length;
  const words = Math.ceil(n / 32);
  const q = new Uint32Array(n * words);
  const lo = 1 - tolerance;
  const hi = 1 + tolerance;
  let maxRow = 0;
  const rowCount = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const r1 = ref[refIdx[i]!]!;
    const t1 = tar[tarIdx[i]!]!;
    for (let j = i + 1; j < n; j++) {
      const r2 = ref[refIdx[j]!]!;
      const t2 = tar[tarIdx[j]!]!;
      const ratio = Math.hypot(r2.x - r1.x, r2.y - r1.y) / Math.hypot(t2.x - t1.x, t2.y - t1.y);
      if (ratio >= lo && ratio <= hi) {
        q[i * words + (j >>> 5)] |= 1 << (j & 31);
        q[j * words + (i >>> 5)] |= 1 << (i & 31);
        rowCount[i]++;
        rowCount[j]++;
      }
    }
  }
  for (let i = 0; i < n; i++) maxRow = Math.max(maxRow, rowCount[i]!);
  if (maxRow < target) return [];
  let bestRow = -1;
  let bestScore = -1;
  let bestSet: number[] = [];
  for (let i = 0; i < n; i++) {
    const set: number[] = [];
    for (let j = 0; j < n; j++) {
      let common: number;
      if (i === j) common = target + 1;
      else {
        common = 0;
        for (let w = 0; w < words; w++) common += popcount32(q[i * words + w]! & q[j * words + w]!);
      }
      if (common >= target) set.push(j);
    }
    if (set.length > bestScore) {
      bestScore = set.length;
      bestRow = i;
      bestSet = set;
    }
  }
  return bestRow < 0 ? [] : bestSet;
}

function popcount32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Drops every pair whose target (then reference) index occurs more than once: the assignment is ambiguous. */
function dropDuplicates(refIdx: number[], tarIdx: number[]): { ref: number[]; tar: number[] } {
  const count = (xs: number[]) => {
    const c = new Map<number, number>();
    for (const x of xs) c.set(x, (c.get(x) ?? 0) + 1);
    return c;
  };
  const ct = count(tarIdx);
  let ref: number[] = [];
  let tar: number[] = [];
  refIdx.forEach((r, i) => {
    if (ct.get(tarIdx[i]!) === 1) {
      ref.push(r);
      tar.push(tarIdx[i]!);
    }
  });
  const cr = count(ref);
  const keep = ref.map((r) => cr.get(r) === 1);
  ref = ref.filter((_, i) => keep[i]);
  tar = tar.filter((_, i) => keep[i]);
  return { ref, tar };
}
