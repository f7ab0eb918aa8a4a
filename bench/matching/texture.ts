/**
 * Synthetic chips with exactly known geometry, for the matching benchmark and the vision tests.
 *
 * The texture is a sum of plane waves with random directions, frequencies log-uniform between `minFrequency` and
 * `maxFrequency` (cycles per texture unit) and equal amplitudes — equal energy per octave, as natural images have.
 * It is analytic, so it can be rendered under any affine map with no resampling error, and each pixel is the exact
 * AVERAGE of the texture over the pixel's footprint (for a plane wave, the value at the centre times
 * sinc(gx)·sinc(gy), g being the wave's frequency in cycles per pixel): a camera's box-shaped pixel response, not
 * point samples. Pixel coordinates follow src/image/raster.ts (centres at integers).
 */
import type { Raster } from "../../src/image/raster";
import { gaussianFrom, seededRandom } from "../../src/vision/random";

export interface Texture {
  fx: Float64Array;
  fy: Float64Array;
  amp: Float64Array;
  phase: Float64Array;
  mean: number;
}

export interface TextureOptions {
  components?: number;
  minFrequency?: number;
  maxFrequency?: number;
  /** Standard deviation of the texture in DN. */
  std?: number;
  mean?: number;
}

export function makeTexture(seed: number, options: TextureOptions = {}): Texture {
  const count = options.components ?? 64;
  const fmin = options.minFrequency ?? 0.015;
  const fmax = options.maxFrequency ?? 0.3;
  const std = options.std ?? 30;
  const rnd = seededRandom(seed);
  const fx = new Float64Array(count);
  const fy = new Float64Array(count);
  const amp = new Float64Array(count);
  const phase = new Float64Array(count);
  // std² = Σ amp²/2 for independent phases.
  const a = std * Math.sqrt(2 / count);
  for (let i = 0; i < count; i++) {
    const f = fmin * Math.pow(fmax / fmin, rnd());
    const dir = 2 * Math.PI * rnd();
    fx[i] = f * Math.cos(dir);
    fy[i] = f * Math.sin(dir);
    amp[i] = a;
    phase[i] = 2 * Math.PI * rnd();
  }
  return { fx, fy, amp, phase, mean: options.mean ?? 120 };
}

/** Where a chip sits on the texture: texture point of pixel (x, y) = origin + J·(x, y). */
export interface ChipGeometry {
  width: number;
  height: number;
  origin: [number, number];
  jacobian: [[number, number], [number, number]];
}

/** Renders a chip: pixel-area averages of the texture, plus Gaussian noise of `noiseSigma` DN (seeded). */
export function renderChip(tex: Texture, geom: ChipGeometry, noiseSigma = 0, noiseSeed = 1): Raster {
  const { width, height, origin, jacobian: J } = geom;
  const data = new Float64Array(width * height).fill(tex.mean);
  const cos = new Float64Array(width);
  const sin = new Float64Array(width);
  for (let k = 0; k < tex.fx.length; k++) {
    const fx = tex.fx[k]!;
    const fy = tex.fy[k]!;
    // Frequency in cycles per pixel along the chip's x and y axes.
    const gx = fx * J[0][0] + fy * J[1][0];
    const gy = fx * J[0][1] + fy * J[1][1];
    const gain = tex.amp[k]! * sinc(gx) * sinc(gy);
    const base = 2 * Math.PI * (fx * origin[0] + fy * origin[1]) + tex.phase[k]!;
    const sx = 2 * Math.PI * gx;
    const sy = 2 * Math.PI * gy;
    // Row phases by direct evaluation, along-row phases by exact table (cos/sin of x·sx, reused for every row).
    for (let x = 0; x < width; x++) {
      cos[x] = Math.cos(sx * x);
      sin[x] = Math.sin(sx * x);
    }
    for (let y = 0; y < height; y++) {
      const th = base + sy * y;
      const c0 = Math.cos(th) * gain;
      const s0 = Math.sin(th) * gain;
      const row = y * width;
      for (let x = 0; x < width; x++) data[row + x] += c0 * cos[x]! - s0 * sin[x]!;
    }
  }
  const out = new Float32Array(width * height);
  const gauss = gaussianFrom(seededRandom(noiseSeed));
  for (let i = 0; i < out.length; i++) out[i] = data[i]! + (noiseSigma > 0 ? noiseSigma * gauss() : 0);
  return { width, height, data: out };
}

function sinc(t: number): number {
  if (Math.abs(t) < 1e-12) return 1;
  const a = Math.PI * t;
  return Math.sin(a) / a;
}

/** A reference chip, a moving chip and the exact answer, as the benchmark and the tests use them. */
export interface ChipPair {
  reference: Raster;
  refPoint: { x: number; y: number };
  moving: Raster;
  apriori: { x: number; y: number };
  /** Exact position of refPoint's ground feature in `moving`. */
  truth: { x: number; y: number };
  /** Linear map from offsets about refPoint in reference to offsets about truth in moving. */
  affine: [[number, number], [number, number]];
}

export interface ChipPairOptions {
  seed: number;
  refSize?: number;
  movingSize?: number;
  /** Rotation of moving relative to reference, degrees. */
  rotationDeg?: number;
  /** Scale of moving relative to reference (1.02: features 2 % larger in moving). */
  scale?: number;
  /** A-priori error: truth − apriori is uniform in ±maxOffset on each axis. */
  maxOffset?: number;
  /** A fixed a-priori error truth − apriori instead of a random one. */
  offset?: { x: number; y: number };
  noiseSigma?: number;
  texture?: TextureOptions;
}

/**
 * A chip pair with known truth: reference pixels are texture units (shifted to a random place on the texture);
 * moving = reference rotated by `rotationDeg` and scaled by `scale` about the feature, which lies at a random
 * sub-pixel position within ±maxOffset of the moving chip's centre (the a-priori position).
 */
export function makeChipPair(options: ChipPairOptions): ChipPair {
  const refSize = options.refSize ?? 71;
  const movingSize = options.movingSize ?? 101;
  const rnd = seededRandom(options.seed * 7919 + 13);
  const tex = makeTexture(options.seed, options.texture);
  const theta = ((options.rotationDeg ?? 0) * Math.PI) / 180;
  const s = options.scale ?? 1;
  const A: [[number, number], [number, number]] = [
    [s * Math.cos(theta), -s * Math.sin(theta)],
    [s * Math.sin(theta), s * Math.cos(theta)],
  ];
  const det = A[0][0] * A[1][1] - A[0][1] * A[1][0];
  const B: [[number, number], [number, number]] = [
    [A[1][1] / det, -A[0][1] / det],
    [-A[1][0] / det, A[0][0] / det],
  ];
  const c = (refSize - 1) / 2;
  const refPoint = { x: c, y: c };
  const tx0 = 1000 * rnd();
  const ty0 = 1000 * rnd();
  const reference = renderChip(
    tex,
    { width: refSize, height: refSize, origin: [tx0, ty0], jacobian: [[1, 0], [0, 1]] },
    options.noiseSigma ?? 0,
    options.seed * 2 + 1,
  );
  const mc = (movingSize - 1) / 2;
  const maxOffset = options.maxOffset ?? 3;
  const rx = (2 * rnd() - 1) * maxOffset;
  const ry = (2 * rnd() - 1) * maxOffset;
  const truth = options.offset ? { x: mc + options.offset.x, y: mc + options.offset.y } : { x: mc + rx, y: mc + ry };
  // Moving pixel q ↦ texture point (tx0 + refPoint) + B·(q − truth).
  const ox = tx0 + refPoint.x - (B[0][0] * truth.x + B[0][1] * truth.y);
  const oy = ty0 + refPoint.y - (B[1][0] * truth.x + B[1][1] * truth.y);
  const moving = renderChip(
    tex,
    { width: movingSize, height: movingSize, origin: [ox, oy], jacobian: B },
    options.noiseSigma ?? 0,
    options.seed * 2 + 2,
  );
  return { reference, refPoint, moving, apriori: { x: mc, y: mc }, truth, affine: A };
}
