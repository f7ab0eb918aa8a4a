/**
 * Seeded randomness for the synthetic campaign.
 *
 * Every random choice draws from its own named stream, `stream(seed, "craters")`, so adding a draw in one part (say, one
 * more crater property) does not shift what another part (the frame layout, the sensor noise) gets. Alea is a small,
 * well-mixed generator whose output is the same on every platform and Node version, which is what makes "same seed →
 * byte-identical files" hold.
 */
import Alea from "alea";

export type Seed = number | string;

/** A uniform [0, 1) generator. */
export type Random = () => number;

/** An independent, reproducible stream for one purpose (and optionally one item, e.g. a frame index). */
export function stream(seed: Seed, purpose: string, item?: number): Random {
  const prng = item === undefined ? Alea(String(seed), purpose) : Alea(String(seed), purpose, String(item));
  return () => prng();
}

/** Uniform in [lo, hi). */
export function uniform(random: Random, lo: number, hi: number): number {
  return lo + (hi - lo) * random();
}

/**
 * Standard normal deviates (Box–Muller, both deviates of each pair used). Returns a function for speed: the sensor
 * noise draws one per pixel.
 */
export function gaussian(random: Random): () => number {
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    const u = 1 - random(); // (0, 1]: log(0) cannot happen
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  };
}
