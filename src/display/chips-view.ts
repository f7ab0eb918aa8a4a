import type { Raster } from "../image/raster";
import { encodePng, pngDataUri, viridisLike } from "./png";
import { escapeHtml, rendered, type Rendered } from "./show";

/** One measure of a point: the image it is in and where (pixel convention of image/raster.ts). */
export interface MeasureChip {
  title: string;
  /** the whole image, or any raster containing the measure */
  raster: Raster;
  x: number;
  y: number;
  /** the a-priori position, drawn as a hollow marker when given */
  apriori?: { x: number; y: number };
}

/** A window of a raster around (cx, cy): size × size pixels, NaN outside the image. */
export function chipAround(r: Raster, cx: number, cy: number, size: number): { chip: Raster; x0: number; y0: number } {
  const half = Math.floor(size / 2);
  const x0 = Math.round(cx) - half, y0 = Math.round(cy) - half;
  const data = new Float32Array(size * size).fill(NaN);
  for (let y = 0; y < size; y++) {
    const sy = y0 + y;
    if (sy < 0 || sy >= r.height) continue;
    for (let x = 0; x < size; x++) {
      const sx = x0 + x;
      if (sx >= 0 && sx < r.width) data[y * size + x] = r.data[sy * r.width + sx]!;
    }
  }
  return { chip: { width: size, height: size, data }, x0, y0 };
}

export interface MeasureChipsOptions {
  title?: string;
  /** chip side in image pixels (default 41) */
  size?: number;
  /** chip side on screen (default 200 px) */
  displaySize?: number;
  /**
   * The correlation surface of one measure's registration (a heat map with its peak), as a raster, or as
   * `correlationSurface` returns it: then `x0, y0` say which image pixel its cell (0, 0) stands for, the peak is
   * given in image pixels and the measure's a-priori and registered positions are drawn on the surface too.
   */
  surface?: Raster | { surface: Raster; x0: number; y0: number };
  surfaceTitle?: string;
  /** index in `chips` of the measure the surface belongs to (default: the first with an a-priori position) */
  surfaceFor?: number;
}

/**
 * A point's measures side by side: a chip of each image around its measure, a cross at the registered
 * position (sub-pixel) and a circle at the a-priori one; and, if given, the correlation surface of the
 * registration as a heat map with its peak.
 */
export function measureChipsView(chips: MeasureChip[], options: MeasureChipsOptions = {}): Rendered {
  const size = options.size ?? 41;
  const ds = options.displaySize ?? 200;
  const panels = chips.map((c) => {
    const { chip, x0, y0 } = chipAround(c.raster, c.x, c.y, size);
    const px = c.x - x0, py = c.y - y0;
    const arm = size / 8;
    const ap = c.apriori ? `<circle cx="${c.apriori.x - x0}" cy="${c.apriori.y - y0}" r="${size / 14}" fill="none" stroke="#4ea1ff" stroke-width="1.5" vector-effect="non-scaling-stroke"><title>a priori (${c.apriori.x.toFixed(2)}, ${c.apriori.y.toFixed(2)})</title></circle>` : "";
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 ${size} ${size}" width="${ds}" height="${ds}">` +
      `<image href="${pngDataUri(encodePng(chip))}" x="-0.5" y="-0.5" width="${size}" height="${size}" preserveAspectRatio="none" style="image-rendering:pixelated"/>` +
      `<path d="M${px - arm},${py}H${px + arm}M${px},${py - arm}V${py + arm}" stroke="#ffcc00" stroke-width="1.5" vector-effect="non-scaling-stroke"/>${ap}</svg>`;
    return { html: panel(c.title, `x ${c.x.toFixed(2)}, y ${c.y.toFixed(2)}`, svg), text: `${c.title}: (${c.x.toFixed(3)}, ${c.y.toFixed(3)})` };
  });
  const texts = panels.map((p) => p.text);
  if (options.surface) {
    const withOrigin = "surface" in options.surface ? options.surface : undefined;
    const s = withOrigin ? withOrigin.surface : (options.surface as Raster);
    let best = -Infinity, bx = 0, by = 0;
    for (let i = 0; i < s.data.length; i++) if (s.data[i]! > best) { best = s.data[i]!; bx = i % s.width; by = Math.floor(i / s.width); }
    let marks = "";
    let where = `(${bx}, ${by})`;
    if (withOrigin) {
      const { x0, y0 } = withOrigin;
      where = `pixel (${x0 + bx}, ${y0 + by})`;
      const c = chips[options.surfaceFor ?? chips.findIndex((m) => m.apriori)];
      if (c) {
        // the same marks as on the chips, in surface cells: cross = registered (sub-pixel), circle = a priori
        const px = c.x - x0, py = c.y - y0, arm = s.width / 8;
        marks += `<path d="M${px - arm},${py}H${px + arm}M${px},${py - arm}V${py + arm}" stroke="#ff5a36" stroke-width="1.5" vector-effect="non-scaling-stroke"/>`;
        if (c.apriori) marks += `<circle cx="${c.apriori.x - x0}" cy="${c.apriori.y - y0}" r="${s.width / 14}" fill="none" stroke="#4ea1ff" stroke-width="1.5" vector-effect="non-scaling-stroke"/>`;
      }
    }
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 ${s.width} ${s.height}" width="${ds}" height="${Math.round((ds * s.height) / s.width)}">` +
      `<image href="${pngDataUri(encodePng(s, { colormap: viridisLike }))}" x="-0.5" y="-0.5" width="${s.width}" height="${s.height}" preserveAspectRatio="none" style="image-rendering:pixelated"/>` +
      `<rect x="${bx - 0.5}" y="${by - 0.5}" width="1" height="1" fill="none" stroke="#fff" stroke-width="1.5" vector-effect="non-scaling-stroke"><title>integer peak</title></rect>${marks}</svg>`;
    const title = options.surfaceTitle ?? "correlation surface";
    const sub = `peak ${best.toFixed(3)} at ${where}${withOrigin ? "; white square: integer peak" : ""}`;
    panels.push({ html: panel(title, sub, svg), text: "" });
    texts.push(`${title}: ${s.width} × ${s.height}, peak ${best.toFixed(3)} at ${where}`);
  }
  const title = options.title ?? "Measures";
  const html = `<figure style="margin:0;font:13px sans-serif"><figcaption style="font-weight:bold;padding-bottom:4px">${escapeHtml(title)}` +
    `<span style="font-weight:normal;color:#555"> — cross: registered, circle: a priori; ${size} × ${size} px chips</span></figcaption>` +
    `<div style="display:flex;gap:10px;flex-wrap:wrap;align-items:flex-end">${panels.map((p) => p.html).join("")}</div></figure>`;
  return rendered(html, [`${title}:`, ...texts.map((t) => `  ${t}`)].join("\n"));
}

function panel(title: string, sub: string, svg: string): string {
  // as wide as its picture: a long title wraps instead of widening the panel
  const w = /width="(\d+)"/.exec(svg)?.[1];
  return `<div${w ? ` style="width:${w}px"` : ""}><div style="font-weight:bold">${escapeHtml(title)}</div><div style="color:#555;font-size:11px">${escapeHtml(sub)}</div>${svg}</div>`;
}
