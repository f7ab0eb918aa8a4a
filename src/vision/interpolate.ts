/**
 * Cubic-spline interpolation of raster windows, for sub-pixel resampling.
 *
 * Coordinates follow `src/image/raster.ts`: row-major, 0-based, pixel centres at integer coordinates, so sampling a
 * window at integer (x, y) returns the stored pixel exactly.
 *
 * Why a prefiltered cubic B-spline (as scipy's `map_coordinates(order=3)` / scikit-image `order=3`) and not the Keys
 * convolution kernel behind OpenCV's `INTER_CUBIC`: a sub-pixel registration compares an image resampled at a
 * fractional offset with a template. Keys' kernel damps and phase-shifts the upper half of the band by an amount that
 * depends on the fraction, which pulls the estimated shift towards whole pixels; with an error budget of a few
 * hundredths of a pixel that matters. The interpolating spline is much closer to the ideal band-limited interpolator
 * for the same 4 × 4 support; the price is a recursive prefilter over the window, linear in its size.
 *
 * A window is prefiltered once ({@link splineWindow}); then any number of samples are cheap: 16 multiply-adds each, or
 * 8 per output pixel when a whole grid shares one fractional offset ({@link sampleSplineGrid}).
 */

/** Spline coefficients of a rectangular window of a raster; `x0`, `y0` is the raster pixel at coefficient (0, 0). */
export interface SplineWindow {
  x0: number;
  y0: number;
  width: number;
  height: number;
  coeffs: Float64Array;
}

const POLE = Math.sqrt(3) - 2;

/**
 * Prefilters `values` (row-major, `width` × `height`, no NaN) into cubic B-spline coefficients, with mirror boundary
 * conditions. `x0`, `y0` place the window in the raster's pixel coordinates.
 */
export function splineWindow(values: ArrayLike<number>, width: number, height: number, x0 = 0, y0 = 0): SplineWindow {
  const coeffs = Float64Array.from(values as ArrayLike<number>);
  const line = new Float64Array(Math.max(width, height));
  for (let y = 0; y < height; y++) {
    const off = y * width;
    for (let x = 0; x < width; x++) line[x] = coeffs[off + x]!;
    prefilter1d(line, width);
    for (let x = 0; x < width; x++) coeffs[off + x] = line[x]!;
  }
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) line[y] = coeffs[y * width + x]!;
    prefilter1d(line, height);
    for (let y = 0; y < height; y++) coeffs[y * width + x] = line[y]!;
  }
  return { x0, y0, width, height, coeffs };
}

/** In-place 1-D cubic B-spline prefilter (Unser's recursive filter) of `c[0..n)`, mirror-symmetric boundaries. */
function prefilter1d(c: Float64Array, n: number): void {
  if (n < 2) return;
  const z = POLE;
  const gain = (1 - z) * (1 - 1 / z);
  for (let k = 0; k < n; k++) c[k] = c[k]! * gain;
  // Causal initialisation: sum over the mirrored signal, truncated where z^k is negligible.
  const horizon = Math.min(n, Math.ceil(Math.log(1e-12) / Math.log(Math.abs(z))));
  let sum = c[0]!;
  let zk = z;
  for (let k = 1; k < horizon; k++) {
    sum += zk * c[k]!;
    zk *= z;
  }
  c[0] = sum;
  for (let k = 1; k < n; k++) c[k] = c[k]! + z * c[k - 1]!;
  c[n - 1] = (z / (z * z - 1)) * (c[n - 1]! + z * c[n - 2]!);
  for (let k = n - 2; k >= 0; k--) c[k] = z * (c[k + 1]! - c[k]!);
}

/** Cubic B-spline weights for fraction `f` ∈ [0, 1) at taps −1, 0, +1, +2, written into `w` (and derivatives into `dw`). */
export function splineWeights(f: number, w: Float64Array, dw?: Float64Array): void {
  const g = 1 - f;
  const f2 = f * f;
  const g2 = g * g;
  w[0] = (g2 * g) / 6;
  w[1] = 2 / 3 - f2 + (f2 * f) / 2;
  w[2] = 2 / 3 - g2 + (g2 * g) / 2;
  w[3] = (f2 * f) / 6;
  if (dw) {
    dw[0] = -g2 / 2;
    dw[1] = -2 * f + 1.5 * f2;
    dw[2] = 2 * g - 1.5 * g2;
    dw[3] = f2 / 2;
  }
}

/** Clamps a coefficient index into the window (samples that close to the window edge are approximate). */
function clampIndex(i: number, n: number): number {
  return i < 0 ? 0 : i >= n ? n - 1 : i;
}

/** One sample of the spline at raster coordinates (x, y). */
export function sampleSpline(win: SplineWindow, x: number, y: number): number {
  const lx = x - win.x0;
  const ly = y - win.y0;
  const ix = Math.floor(lx);
  const iy = Math.floor(ly);
  const fx = lx - ix;
  const fy = ly - iy;
  const gx = 1 - fx;
  const gy = 1 - fy;
  const wx0 = (gx * gx * gx) / 6;
  const wx1 = 2 / 3 - fx * fx + (fx * fx * fx) / 2;
  const wx2 = 2 / 3 - gx * gx + (gx * gx * gx) / 2;
  const wx3 = (fx * fx * fx) / 6;
  const wy = [(gy * gy * gy) / 6, 2 / 3 - fy * fy + (fy * fy * fy) / 2, 2 / 3 - gy * gy + (gy * gy * gy) / 2, (fy * fy * fy) / 6];
  const { coeffs, width, height } = win;
  const inside = ix >= 1 && ix + 2 < width && iy >= 1 && iy + 2 < height;
  let acc = 0;
  for (let j = 0; j < 4; j++) {
    const row = (inside ? iy - 1 + j : clampIndex(iy - 1 + j, height)) * width;
    let r: number;
    if (inside) {
      const o = row + ix - 1;
      r = wx0 * coeffs[o]! + wx1 * coeffs[o + 1]! + wx2 * coeffs[o + 2]! + wx3 * coeffs[o + 3]!;
    } else {
      r =
        wx0 * coeffs[row + clampIndex(ix - 1, width)]! +
        wx1 * coeffs[row + clampIndex(ix, width)]! +
        wx2 * coeffs[row + clampIndex(ix + 1, width)]! +
        wx3 * coeffs[row + clampIndex(ix + 2, width)]!;
    }
    acc += wy[j]! * r;
  }
  return acc;
}

/**
 * Samples an `n` × `m` grid with unit spacing whose first sample is at raster coordinates (x, y): every sample shares
 * the same fractional offset, so the interpolation is separable (8 multiply-adds per sample, 24 with the gradient).
 * Writes values to `out` and, if given, ∂/∂x and ∂/∂y to `outDx`, `outDy` (all row-major n wide).
 * The grid must lie at least one pixel inside the window on each side (the caller sizes windows with a margin).
 */
export function sampleSplineGrid(
  win: SplineWindow,
  x: number,
  y: number,
  n: number,
  m: number,
  out: Float64Array,
  outDx?: Float64Array,
  outDy?: Float64Array,
): void {
  const lx = x - win.x0;
  const ly = y - win.y0;
  const ix = Math.floor(lx);
  const iy = Math.floor(ly);
  if (ix < 1 || iy < 1 || ix + n + 1 >= win.width || iy + m + 1 >= win.height) {
    throw new RangeError(`spline grid at (${x}, ${y}) size ${n}×${m} leaves its window`);
  }
  const wx = new Float64Array(4);
  const dwx = new Float64Array(4);
  const wy = new Float64Array(4);
  const dwy = new Float64Array(4);
  splineWeights(lx - ix, wx, dwx);
  splineWeights(ly - iy, wy, dwy);
  const { coeffs, width } = win;
  const rows = m + 3;
  // Horizontal pass over the m + 3 coefficient rows the vertical pass needs.
  const h = new Float64Array(rows * n);
  const hd = outDx ? new Float64Array(rows * n) : undefined;
  for (let r = 0; r < rows; r++) {
    const base = (iy - 1 + r) * width + ix - 1;
    const o = r * n;
    for (let i = 0; i < n; i++) {
      const b = base + i;
      const c0 = coeffs[b]!;
      const c1 = coeffs[b + 1]!;
      const c2 = coeffs[b + 2]!;
      const c3 = coeffs[b + 3]!;
      h[o + i] = wx[0]! * c0 + wx[1]! * c1 + wx[2]! * c2 + wx[3]! * c3;
      if (hd) hd[o + i] = dwx[0]! * c0 + dwx[1]! * c1 + dwx[2]! * c2 + dwx[3]! * c3;
    }
  }
  for (let j = 0; j < m; j++) {
    const o0 = j * n;
    const o1 = o0 + n;
    const o2 = o1 + n;
    const o3 = o2 + n;
    for (let i = 0; i < n; i++) {
      const a0 = h[o0 + i]!;
      const a1 = h[o1 + i]!;
      const a2 = h[o2 + i]!;
      const a3 = h[o3 + i]!;
      out[o0 + i] = wy[0]! * a0 + wy[1]! * a1 + wy[2]! * a2 + wy[3]! * a3;
      if (outDy) outDy[o0 + i] = dwy[0]! * a0 + dwy[1]! * a1 + dwy[2]! * a2 + dwy[3]! * a3;
      if (outDx && hd) {
        outDx[o0 + i] = wy[0]! * hd[o0 + i]! + wy[1]! * hd[o1 + i]! + wy[2]! * hd[o2 + i]! + wy[3]! * hd[o3 + i]!;
      }
    }
  }
}
