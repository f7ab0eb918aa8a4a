/**
 * A small seeded random number generator, so that RANSAC, the ring matcher and synthetic test data are repeatable:
 * the same seed gives the same samples on every machine and Node version (Math.random cannot be seeded).
 */

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32: fast, 2³² period — plenty for sampling). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples (Box–Muller) from a uniform generator. */
export function gaussianFrom(uniform: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/** k distinct integers from [0, n), in random order (partial Fisher–Yates over an index array). */
export function sampleIndices(n: number, k: number, uniform: () => number, scratch?: Int32Array): Int32Array {
  const idx = scratch && scratch.length >= n ? scratch : new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  const out = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(uniform() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
    out[i] = idx[i]!;
  }
  return out;
}
