/**
 * Seeded 2-D simplex noise with its analytic gradient, and fractal Brownian motion (fBm) built from it.
 *
 * Why our own simplex noise rather than the `simplex-noise` package: the ground is shaded (Lambert) from the gradient of
 * a height field, and that package returns values only. Finite differences would cost three evaluations per sample
 * and add a step-size error; the analytic gradient (Gustavson's "sdnoise" formulation: each corner contributes
 * t⁴·(g·d), whose derivative is closed-form) costs about one evaluation and is exact, so shading stays continuous
 * and sub-pixel features land where the geometry says.
 *
 * The noise is C² (the t⁴ kernel), so brightness is continuous at any sub-pixel position.
 */
import type { Random } from "./random";

const F2 = 0.5 * (Math.sqrt(3) - 1);
const G2 = (3 - Math.sqrt(3)) / 6;
/** Scales the sum of corner contributions to roughly [−1, 1] for unit gradients. */
const SCALE = 99.204;
/** 12 unit gradient directions, 30° apart: more isotropic than the classic (±1, ±1) set. */
const GRAD_COUNT = 12;

export class SimplexNoise2 {
  private readonly perm = new Uint16Array(512);
  private readonly gradX = new Float64Array(512);
  private readonly gradY = new Float64Array(512);

  constructor(random: Random) {
    const p = new Uint16Array(256);
    for (let i = 0; i < 256; i++) p[i] = i;
    for (let i = 255; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      const t = p[i]!;
      p[i] = p[j]!;
      p[j] = t;
    }
    for (let i = 0; i < 512; i++) {
      this.perm[i] = p[i & 255]!;
      const angle = ((this.perm[i]! % GRAD_COUNT) * 2 * Math.PI) / GRAD_COUNT;
      this.gradX[i] = Math.cos(angle);
      this.gradY[i] = Math.sin(angle);
    }
  }

  /** Noise at (x, y), about −1..1. If `grad` is given, ∂/∂x and ∂/∂y are written to grad[0], grad[1]. */
  sample(x: number, y: number, grad?: Float64Array): number {
    const perm = this.perm, gx = this.gradX, gy = this.gradY;
    const s = (x + y) * F2;
    const i = Math.floor(x + s);
    const j = Math.floor(y + s);
    const t = (i + j) * G2;
    const x0 = x - (i - t);
    const y0 = y - (j - t);
    const i1 = x0 > y0 ? 1 : 0;
    const j1 = 1 - i1;
    const x1 = x0 - i1 + G2;
    const y1 = y0 - j1 + G2;
    const x2 = x0 - 1 + 2 * G2;
    const y2 = y0 - 1 + 2 * G2;
    const ii = i & 255;
    const jj = j & 255;

    let n = 0, dx = 0, dy = 0;
    const t0 = 0.5 - x0 * x0 - y0 * y0;
    if (t0 > 0) {
      const h = perm[ii + perm[jj]!]!;
      const g = gx[h]! * x0 + gy[h]! * y0;
      const t20 = t0 * t0, t40 = t20 * t20;
      n += t40 * g;
      const k = -8 * t20 * t0 * g;
      dx += k * x0 + t40 * gx[h]!;
      dy += k * y0 + t40 * gy[h]!;
    }
    const t1 = 0.5 - x1 * x1 - y1 * y1;
    if (t1 > 0) {
      const h = perm[ii + i1 + perm[jj + j1]!]!;
      const g = gx[h]! * x1 + gy[h]! * y1;
      const t21 = t1 * t1, t41 = t21 * t21;
      n += t41 * g;
      const k = -8 * t21 * t1 * g;
      dx += k * x1 + t41 * gx[h]!;
      dy += k * y1 + t41 * gy[h]!;
    }
    const t2 = 0.5 - x2 * x2 - y2 * y2;
    if (t2 > 0) {
      const h = perm[ii + 1 + perm[jj + 1]!]!;
      const g = gx[h]! * x2 + gy[h]! * y2;
      const t22 = t2 * t2, t42 = t22 * t22;
      n += t42 * g;
      const k = -8 * t22 * t2 * g;
      dx += k * x2 + t42 * gx[h]!;
      dy += k * y2 + t42 * gy[h]!;
    }
    if (grad) {
      grad[0] = SCALE * dx;
      grad[1] = SCALE * dy;
    }
    return SCALE * n;
  }
}

export interface FbmOptions {
  /** number of octaves (each doubles the frequency, halves the amplitude by `gain`) */
  octaves: number;
  /** wavelength of the first (coarsest) octave, in the caller's length unit */
  wavelength: number;
  /** amplitude of the first octave */
  amplitude: number;
  /** amplitude ratio between successive octaves (0.5: every octave adds about the same slope) */
  gain?: number;
  /** frequency ratio between successive octaves */
  lacunarity?: number;
  /**
   * Octaves whose wavelength is below this are left out: detail finer than a pixel only aliases when sampled and
   * costs time. Part of the ground's definition (not of the sampling), so the function stays one fixed function.
   */
  minWavelength?: number;
}

/**
 * Fractal Brownian motion: a sum of simplex octaves, each offset by a seeded shift so they do not share a lattice
 * origin (which would make a visible feature at the origin).
 */
export class Fbm {
  readonly octaves: number;
  private readonly freq: Float64Array;
  private readonly amp: Float64Array;
  private readonly offX: Float64Array;
  private readonly offY: Float64Array;
  private readonly g = new Float64Array(2);

  constructor(private readonly noise: SimplexNoise2, options: FbmOptions, random: Random) {
    const gain = options.gain ?? 0.5;
    const lacunarity = options.lacunarity ?? 2;
    if (!(options.wavelength > 0) || !(options.octaves >= 1)) throw new Error("fBm needs a positive wavelength and at least one octave");
    const freq: number[] = [], amp: number[] = [], offX: number[] = [], offY: number[] = [];
    for (let k = 0; k < options.octaves; k++) {
      const f = Math.pow(lacunarity, k) / options.wavelength;
      // Offsets are drawn for every octave, kept or not, so minWavelength does not change the kept octaves.
      const ox = random() * 256, oy = random() * 256;
      if (options.minWavelength !== undefined && 1 / f < options.minWavelength) continue;
      freq.push(f);
      amp.push(options.amplitude * Math.pow(gain, k));
      offX.push(ox);
      offY.push(oy);
    }
    this.octaves = freq.length;
    this.freq = Float64Array.from(freq);
    this.amp = Float64Array.from(amp);
    this.offX = Float64Array.from(offX);
    this.offY = Float64Array.from(offY);
  }

  /** The fBm value at (x, y); with `grad`, its gradient is written to grad[0], grad[1]. */
  sample(x: number, y: number, grad?: Float64Array): number {
    let v = 0, dx = 0, dy = 0;
    const g = this.g;
    for (let k = 0; k < this.octaves; k++) {
      const f = this.freq[k]!, a = this.amp[k]!;
      if (grad) {
        v += a * this.noise.sample(x * f + this.offX[k]!, y * f + this.offY[k]!, g);
        dx += a * f * g[0]!;
        dy += a * f * g[1]!;
      } else {
        v += a * this.noise.sample(x * f + this.offX[k]!, y * f + this.offY[k]!);
      }
    }
    if (grad) {
      grad[0] = dx;
      grad[1] = dy;
    }
    return v;
  }
}
