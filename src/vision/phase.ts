/**
 * Phase correlation: the translation between two equally sized rasters from the phase of their cross-power spectrum.
 *
 * Convention (pixel coordinates of `src/image/raster.ts`): `a` is the fixed image, `b` the moving one, and the result
 * (dx, dy) says that the content at (x, y) in `a` appears at (x + dx, y + dy) in `b`: b(x + dx, y + dy) ≈ a(x, y).
 *
 * Why this way:
 * - Each image has its mean removed and a 2-D Hann window applied, so the implicit periodic extension of the FFT does
 *   not put a strong cross at the image borders into the correlation.
 * - Images are zero-padded to powers of two (fft.js needs them); the 2-D transform is row FFTs then column FFTs.
 * - The normalised cross-power spectrum R(k) = B(k)·conj(A(k)) / |B(k)·conj(A(k))| of a pure shift d is the plane
 *   wave e^(−2πi k·d/N), whose inverse transform peaks exactly at d. Rather than fitting a parabola or a sinc to the
 *   sampled peak (both biased by the window), we maximise the inverse transform *as a continuous trigonometric
 *   polynomial* of (x, y) with a few Newton steps from the integer peak: its exact gradient and Hessian are sums over
 *   the spectrum. This is the continuous limit of Guizar-Sicairos' matrix-multiply DFT upsampling, without a grid.
 * - Pure phase correlation weights every frequency alike, so bins holding only noise (above the texture's band) get
 *   as much say as the signal: on 31 px chips with σ = 2 DN noise that costs ~0.3 px. The spectrum is therefore
 *   regularised, R = B·conj(A) / (|B·conj(A)| + ε·mean|B·conj(A)|): ε = 0 is pure phase correlation, large ε plain
 *   cross-correlation; the default ε = 1 keeps most of the whitening on strong frequencies and mutes weak ones.
 *   Bins below 1e-6 of the strongest (float32 rounding) and the Nyquist row and column (so the polynomial is real)
 *   are dropped.
 * - A window fixed in the frame biases the peak towards zero shift (the windows correlate with themselves) by ~5–10 %
 *   of the shift. So, with the Hann window, the measurement is repeated with `b`'s window moved by the current
 *   estimate (a continuous Hann evaluated at x − d): at the true shift the two windowed images are exact shifted
 *   copies, so the iteration's fixed point is unbiased. Two or three passes converge.
 */
import FFT from "fft.js";
import type { Raster } from "../image/raster";

export interface PhaseCorrelationOptions {
  /** Apodisation before the FFT; default `'hann'`. */
  window?: "hann" | "none";
  /** Newton refinement of the peak to sub-pixel precision; default true (false gives the integer peak). */
  subpixel?: boolean;
  /** ε of the regularised cross-power spectrum (see the file comment); default 1. 0 = pure phase correlation. */
  regularization?: number;
  /** Passes with `b`'s window moved to the current estimate (Hann only); default 4, stopping when a pass moves < 1e-4 px. */
  windowPasses?: number;
}

export interface PhaseCorrelationResult {
  /** Shift of `b` relative to `a`, in pixels: b(x + dx, y + dy) ≈ a(x, y). */
  dx: number;
  dy: number;
  /** Height of the correlation peak relative to a perfect match (1 for an exact circular shift, ~0 for unrelated images). */
  peak: number;
}

const fftCache = new Map<number, FFT>();
function fftOf(size: number): FFT {
  let f = fftCache.get(size);
  if (!f) {
    f = new FFT(size);
    fftCache.set(size, f);
  }
  return f;
}

function nextPow2(n: number): number {
  let p = 2;
  while (p < n) p *= 2;
  return p;
}

/**
 * Mean-removed, windowed, zero-padded copy of a raster as an interleaved complex array (nx × ny). The Hann window is
 * evaluated continuously and may be moved by (sx, sy) pixels; it is zero outside its support.
 */
function prepare(r: Raster, nx: number, ny: number, hann: boolean, sx = 0, sy = 0): Float64Array {
  const { width: w, height: h, data } = r;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) {
      sum += v;
      count++;
    }
  }
  const mean = count > 0 ? sum / count : 0;
  const wx = new Float64Array(w);
  const wy = new Float64Array(h);
  for (let x = 0; x < w; x++) wx[x] = hann ? hannAt(x - sx, w) : 1;
  for (let y = 0; y < h; y++) wy[y] = hann ? hannAt(y - sy, h) : 1;
  const out = new Float64Array(2 * nx * ny);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = data[y * w + x]!;
      // No-data (NaN) contributes nothing: it is set to the mean before windowing.
      out[2 * (y * nx + x)] = (Number.isFinite(v) ? v - mean : 0) * wx[x]! * wy[y]!;
    }
  }
  return out;
}

/** The Hann window of length n (zero at 0 and n − 1) at a real position t, zero outside [0, n − 1]. */
function hannAt(t: number, n: number): number {
  if (n < 2) return 1;
  if (t <= 0 || t >= n - 1) return 0;
  return 0.5 - 0.5 * Math.cos((2 * Math.PI * t) / (n - 1));
}

/** In-place 2-D FFT (or inverse) of an interleaved complex nx × ny array: rows, then columns. */
function fft2d(data: Float64Array, nx: number, ny: number, inverse: boolean): void {
  const fx = fftOf(nx);
  const fy = fftOf(ny);
  const rowIn = new Float64Array(2 * nx);
  const rowOut = new Float64Array(2 * nx);
  for (let y = 0; y < ny; y++) {
    rowIn.set(data.subarray(2 * y * nx, 2 * (y + 1) * nx));
    if (inverse) fx.inverseTransform(rowOut, rowIn);
    else fx.transform(rowOut, rowIn);
    data.set(rowOut, 2 * y * nx);
  }
  const colIn = new Float64Array(2 * ny);
  const colOut = new Float64Array(2 * ny);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      colIn[2 * y] = data[2 * (y * nx + x)]!;
      colIn[2 * y + 1] = data[2 * (y * nx + x) + 1]!;
    }
    if (inverse) fy.inverseTransform(colOut, colIn);
    else fy.transform(colOut, colIn);
    for (let y = 0; y < ny; y++) {
      data[2 * (y * nx + x)] = colOut[2 * y]!;
      data[2 * (y * nx + x) + 1] = colOut[2 * y + 1]!;
    }
  }
}

/**
 * Phase correlation of two rasters of the same size. See the file comment for the convention:
 * `b(x + dx, y + dy) ≈ a(x, y)`. Shifts are recovered modulo the padded size; keep them well under half the window.
 */
export function phaseCorrelate(a: Raster, b: Raster, options: PhaseCorrelationOptions = {}): PhaseCorrelationResult {
  if (a.width !== b.width || a.height !== b.height) {
    throw new RangeError(`phaseCorrelate needs equal sizes, got ${a.width}×${a.height} and ${b.width}×${b.height}`);
  }
  const hann = (options.window ?? "hann") === "hann";
  const nx = nextPow2(a.width);
  const ny = nextPow2(a.height);
  const fa = prepare(a, nx, ny, hann);
  fft2d(fa, nx, ny, false);
  let result = correlateOnce(fa, prepare(b, nx, ny, hann), nx, ny, options);
  if (!hann || options.subpixel === false) return result;
  const passes = options.windowPasses ?? 4;
  for (let pass = 0; pass < passes; pass++) {
    const next = correlateOnce(fa, prepare(b, nx, ny, true, result.dx, result.dy), nx, ny, options);
    const moved = Math.hypot(next.dx - result.dx, next.dy - result.dy);
    // A pass that jumps by more than a pixel has lost the peak (the shift is beyond the window): keep the last one.
    if (moved > 1) break;
    result = next;
    if (moved < 1e-4) break;
  }
  return result;
}

/** One correlation of `a`'s spectrum with `b` (prepared, spatial): regularised cross-power, integer peak, refinement. */
function correlateOnce(
  fa: Float64Array,
  fb: Float64Array,
  nx: number,
  ny: number,
  options: PhaseCorrelationOptions,
): PhaseCorrelationResult {
  fft2d(fb, nx, ny, false);
  const eps = options.regularization ?? 1;
  // Cross-power spectrum B·conj(A), stored in fb.
  const mags = new Float64Array(nx * ny);
  let meanMag = 0;
  for (let i = 0; i < nx * ny; i++) {
    const ar = fa[2 * i]!;
    const ai = fa[2 * i + 1]!;
    const br = fb[2 * i]!;
    const bi = fb[2 * i + 1]!;
    const re = br * ar + bi * ai;
    const im = bi * ar - br * ai;
    fb[2 * i] = re;
    fb[2 * i + 1] = im;
    const m = Math.hypot(re, im);
    mags[i] = m;
    meanMag += m;
  }
  meanMag /= nx * ny;
  const damp = eps * meanMag;
  // Bins at the rounding level of float32 data carry no phase at all; with ε = 0 they would weigh as much as signal.
  let maxMag = 0;
  for (let i = 0; i < nx * ny; i++) if (mags[i]! > maxMag) maxMag = mags[i]!;
  const floor = maxMag * 1e-6;
  // Σ|R|/(nx·ny): the peak a perfect match would reach, to normalise the reported peak.
  let ideal = 0;
  for (let ky = 0; ky < ny; ky++) {
    for (let kx = 0; kx < nx; kx++) {
      const i = ky * nx + kx;
      const m = mags[i]!;
      const nyquist = (nx > 2 && kx === nx / 2) || (ny > 2 && ky === ny / 2);
      if (m <= floor || nyquist || !(m + damp > 0)) {
        fb[2 * i] = 0;
        fb[2 * i + 1] = 0;
      } else {
        const d = m + damp;
        fb[2 * i] = fb[2 * i]! / d;
        fb[2 * i + 1] = fb[2 * i + 1]! / d;
        ideal += m / d;
      }
    }
  }
  ideal /= nx * ny;
  if (!(ideal > 0)) return { dx: 0, dy: 0, peak: 0 };
  const spectrum = Float64Array.from(fb);

  // Integer peak of the inverse transform (fft.js' inverse divides by the length).
  fft2d(fb, nx, ny, true);
  let best = -Infinity;
  let bx = 0;
  let by = 0;
  for (let y = 0; y < ny; y++) {
    for (let x = 0; x < nx; x++) {
      const v = fb[2 * (y * nx + x)]!;
      if (v > best) {
        best = v;
        bx = x;
        by = y;
      }
    }
  }
  const dx = bx >= nx / 2 ? bx - nx : bx;
  const dy = by >= ny / 2 ? by - ny : by;
  if (options.subpixel === false) return { dx, dy, peak: best / ideal };
  const refined = refinePeak(spectrum, nx, ny, dx, dy);
  return { dx: refined.x, dy: refined.y, peak: refined.value / ideal };
}

/**
 * Newton ascent on c(x, y) = (1/(nx·ny)) Σ_k Re(R(k) e^{2πi(kx·x/nx + ky·y/ny)}), with signed frequencies, from an
 * integer peak. Steps are limited to half a pixel so the ascent stays on the main lobe.
 */
function refinePeak(spectrum: Float64Array, nx: number, ny: number, x0: number, y0: number) {
  // Collect the non-zero terms once: frequency (radians per pixel) and complex coefficient.
  const terms: number[] = [];
  for (let ky = 0; ky < ny; ky++) {
    const fy = (2 * Math.PI * (ky >= ny / 2 ? ky - ny : ky)) / ny;
    for (let kx = 0; kx < nx; kx++) {
      const i = ky * nx + kx;
      const re = spectrum[2 * i]!;
      const im = spectrum[2 * i + 1]!;
      if (re === 0 && im === 0) continue;
      const fx = (2 * Math.PI * (kx >= nx / 2 ? kx - nx : kx)) / nx;
      terms.push(fx, fy, re, im);
    }
  }
  const scale = 1 / (nx * ny);
  const evaluate = (x: number, y: number) => {
    let c = 0;
    let gx = 0;
    let gy = 0;
    let hxx = 0;
    let hxy = 0;
    let hyy = 0;
    for (let t = 0; t < terms.length; t += 4) {
      const a = terms[t]!;
      const b = terms[t + 1]!;
      const rr = terms[t + 2]!;
      const ri = terms[t + 3]!;
      const th = a * x + b * y;
      const co = Math.cos(th);
      const si = Math.sin(th);
      const s = rr * co - ri * si;
      const q = rr * si + ri * co;
      c += s;
      gx -= a * q;
      gy -= b * q;
      hxx -= a * a * s;
      hxy -= a * b * s;
      hyy -= b * b * s;
    }
    return { c: c * scale, gx: gx * scale, gy: gy * scale, hxx: hxx * scale, hxy: hxy * scale, hyy: hyy * scale };
  };
  let x = x0;
  let y = y0;
  let e = evaluate(x, y);
  for (let iter = 0; iter < 8; iter++) {
    const det = e.hxx * e.hyy - e.hxy * e.hxy;
    let sx: number;
    let sy: number;
    if (e.hxx < 0 && det > 0) {
      // Newton step −H⁻¹g on a concave patch.
      sx = -(e.hyy * e.gx - e.hxy * e.gy) / det;
      sy = -(-e.hxy * e.gx + e.hxx * e.gy) / det;
    } else {
      // Not concave here: a short gradient step.
      const g = Math.hypot(e.gx, e.gy) || 1;
      sx = (0.1 * e.gx) / g;
      sy = (0.1 * e.gy) / g;
    }
    const len = Math.hypot(sx, sy);
    if (len > 0.5) {
      sx *= 0.5 / len;
      sy *= 0.5 / len;
    }
    const next = evaluate(x + sx, y + sy);
    if (next.c < e.c) break;
    x += sx;
    y += sy;
    e = next;
    if (Math.hypot(sx, sy) < 1e-5) break;
  }
  return { x, y, value: e.c };
}
