/**
 * Impact craters as a height field: a power-law population of bowls with raised rims, looked up through a spatial grid.
 *
 * Coordinates are local metres (x east, y north) of the ground's tangent frame (see ground.ts). The profile is C¹ (no
 * kink at the rim crest or where the ejecta blanket meets the plain), so the shaded brightness is continuous and a
 * feature's sub-pixel position is well defined.
 *
 * Why a grid: with hundreds or thousands of craters, testing every crater at every one of the ~2.4 million samples of a
 * 512² frame (3 × 3 supersampling) is what made the earlier attempt slow. Each crater is filed under every grid cell
 * its zone of influence touches, so a sample visits only the few craters that can reach it; the sum is the same.
 */
import type { Random } from "./random";

export interface Crater {
  /** centre, local metres east */
  x: number;
  /** centre, local metres north */
  y: number;
  /** rim-crest radius, metres */
  radius: number;
  /** rim crest to floor, metres */
  depth: number;
  /** rim crest above the surrounding plain, metres */
  rim: number;
}

/** A crater's relief (rim and ejecta) reaches out to this many radii from its centre. */
export const CRATER_REACH = 2;

/**
 * The radial profile at ρ = distance / radius, as [height, d height / d ρ].
 * Inside (ρ ≤ 1): rim − depth·(1 − ρ²)², a bowl with a flat-bottomed centre and zero slope at the crest.
 * Outside: the rim height falling off with a smoothstep to 0 at ρ = CRATER_REACH (zero slope at both ends).
 */
export function craterProfile(rho: number, depth: number, rim: number): [number, number] {
  if (rho <= 1) {
    const q = 1 - rho * rho;
    return [rim - depth * q * q, 4 * depth * rho * q];
  }
  if (rho >= CRATER_REACH) return [0, 0];
  const w = CRATER_REACH - 1;
  const t = (rho - 1) / w;
  return [rim * (1 - t * t * (3 - 2 * t)), (rim * 6 * t * (t - 1)) / w];
}

export interface Region {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface CraterPopulationOptions {
  /** where crater centres are placed (local metres) */
  region: Region;
  count: number;
  /** radii in metres: a truncated power law between these */
  minRadius: number;
  maxRadius: number;
  /** cumulative size–frequency slope: N(> r) ∝ r^−exponent (lunar production populations are near 2) */
  exponent?: number;
}

/**
 * Draws a crater population. Radii follow a truncated Pareto law (few large, many small); depth/diameter is drawn in
 * 0.10–0.20 (fresh simple craters are near 0.2, degraded ones shallower), rim height a fifth of the depth.
 */
export function randomCraters(options: CraterPopulationOptions, random: Random): Crater[] {
  const { region, count, minRadius, maxRadius } = options;
  const alpha = options.exponent ?? 2;
  if (!(minRadius > 0 && maxRadius >= minRadius)) throw new Error(`crater radii need 0 < minRadius ≤ maxRadius, got ${minRadius}, ${maxRadius}`);
  if (!(alpha > 0)) throw new Error(`crater size exponent must be positive, got ${alpha}`);
  if (!Number.isInteger(count) || count < 0) throw new Error(`crater count must be a non-negative integer, got ${count}`);
  const tail = 1 - Math.pow(minRadius / maxRadius, alpha);
  const craters: Crater[] = [];
  for (let i = 0; i < count; i++) {
    const x = region.minX + (region.maxX - region.minX) * random();
    const y = region.minY + (region.maxY - region.minY) * random();
    const radius = minRadius * Math.pow(1 - random() * tail, -1 / alpha);
    const depthToDiameter = 0.1 + 0.1 * random();
    const depth = depthToDiameter * 2 * radius;
    craters.push({ x, y, radius, depth, rim: depth / 5 });
  }
  return craters;
}

/** Sums the craters' heights (overlapping craters superpose) with a grid for lookup. */
export class CraterField {
  readonly craters: readonly Crater[];
  private readonly cx: Float64Array;
  private readonly cy: Float64Array;
  private readonly r: Float64Array;
  private readonly reach2: Float64Array;
  private readonly depth: Float64Array;
  private readonly rim: Float64Array;
  private readonly x0: number;
  private readonly y0: number;
  private readonly cell: number;
  private readonly nx: number;
  private readonly ny: number;
  /** CSR layout: the craters of cell c are items[start[c] .. start[c + 1]) */
  private readonly start: Int32Array;
  private readonly items: Int32Array;

  constructor(craters: readonly Crater[]) {
    this.craters = craters;
    const n = craters.length;
    this.cx = Float64Array.from(craters, (c) => c.x);
    this.cy = Float64Array.from(craters, (c) => c.y);
    this.r = Float64Array.from(craters, (c) => c.radius);
    this.reach2 = Float64Array.from(craters, (c) => (CRATER_REACH * c.radius) ** 2);
    this.depth = Float64Array.from(craters, (c) => c.depth);
    this.rim = Float64Array.from(craters, (c) => c.rim);
    if (n === 0) {
      this.x0 = this.y0 = 0;
      this.cell = 1;
      this.nx = this.ny = 0;
      this.start = new Int32Array(1);
      this.items = new Int32Array(0);
      return;
    }
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity, minR = Infinity;
    for (const c of craters) {
      const reach = CRATER_REACH * c.radius;
      minX = Math.min(minX, c.x - reach);
      minY = Math.min(minY, c.y - reach);
      maxX = Math.max(maxX, c.x + reach);
      maxY = Math.max(maxY, c.y + reach);
      minR = Math.min(minR, c.radius);
    }
    // Cells about the size of the smallest crater's zone of influence; capped at ~4 M cells for huge areas.
    let cell = 2 * CRATER_REACH * minR;
    const maxCells = 4_000_000;
    const area = (maxX - minX) * (maxY - minY);
    if (area / (cell * cell) > maxCells) cell = Math.sqrt(area / maxCells);
    this.cell = cell;
    this.x0 = minX;
    this.y0 = minY;
    this.nx = Math.max(1, Math.ceil((maxX - minX) / cell));
    this.ny = Math.max(1, Math.ceil((maxY - minY) / cell));
    const counts = new Int32Array(this.nx * this.ny + 1);
    const forEachCell = (i: number, visit: (c: number) => void) => {
      const reach = CRATER_REACH * this.r[i]!;
      const ax = this.clampX(Math.floor((this.cx[i]! - reach - minX) / cell));
      const bx = this.clampX(Math.floor((this.cx[i]! + reach - minX) / cell));
      const ay = this.clampY(Math.floor((this.cy[i]! - reach - minY) / cell));
      const by = this.clampY(Math.floor((this.cy[i]! + reach - minY) / cell));
      for (let gy = ay; gy <= by; gy++) for (let gx = ax; gx <= bx; gx++) visit(gy * this.nx + gx);
    };
    for (let i = 0; i < n; i++) forEachCell(i, (c) => counts[c + 1]!++);
    for (let c = 0; c < this.nx * this.ny; c++) counts[c + 1]! += counts[c]!;
    this.start = counts.slice();
    this.items = new Int32Array(counts[this.nx * this.ny]!);
    const fill = counts.slice(0, this.nx * this.ny);
    // Craters are filed in index order, so every sample sums in the same order: deterministic to the last bit.
    for (let i = 0; i < n; i++) forEachCell(i, (c) => { this.items[fill[c]!++] = i; });
  }

  private clampX(g: number): number {
    return g < 0 ? 0 : g >= this.nx ? this.nx - 1 : g;
  }

  private clampY(g: number): number {
    return g < 0 ? 0 : g >= this.ny ? this.ny - 1 : g;
  }

  /** Crater height at (x, y) in metres; with `grad`, its gradient is written to grad[0], grad[1]. */
  sample(x: number, y: number, grad?: Float64Array): number {
    let h = 0, dx = 0, dy = 0;
    const gx = Math.floor((x - this.x0) / this.cell);
    const gy = Math.floor((y - this.y0) / this.cell);
    if (gx >= 0 && gy >= 0 && gx < this.nx && gy < this.ny) {
      const c = gy * this.nx + gx;
      const end = this.start[c + 1]!;
      for (let k = this.start[c]!; k < end; k++) {
        const i = this.items[k]!;
        const ex = x - this.cx[i]!, ey = y - this.cy[i]!;
        const d2 = ex * ex + ey * ey;
        if (d2 >= this.reach2[i]!) continue;
        const r = this.r[i]!, depth = this.depth[i]!, rim = this.rim[i]!;
        const d = Math.sqrt(d2);
        const rho = d / r;
        let dh: number;
        if (rho <= 1) {
          const q = 1 - rho * rho;
          h += rim - depth * q * q;
          dh = 4 * depth * rho * q;
        } else {
          const w = CRATER_REACH - 1;
          const t = (rho - 1) / w;
          h += rim * (1 - t * t * (3 - 2 * t));
          dh = (rim * 6 * t * (t - 1)) / w;
        }
        if (d > 0) {
          // d h / d x = h'(ρ) · (1 / r) · (ex / d)
          const k2 = dh / (r * d);
          dx += k2 * ex;
          dy += k2 * ey;
        }
      }
    }
    if (grad) {
      grad[0] = dx;
      grad[1] = dy;
    }
    return h;
  }
}
