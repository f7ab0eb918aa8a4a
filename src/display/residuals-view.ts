import { Plot, plotDocument } from "./dom";
import { rendered, type Rendered } from "./show";

/** A measure's error: where it is (pixel convention of image/raster.ts) and registered − true, in pixels. */
export interface Residual {
  x: number;
  y: number;
  dx: number;
  dy: number;
  image?: string;
}

/** RMS and maximum length of residual vectors. */
export function residualStats(rows: Residual[]): { n: number; rms: number; max: number } {
  let s = 0, max = 0;
  for (const r of rows) {
    const d2 = r.dx * r.dx + r.dy * r.dy;
    s += d2;
    max = Math.max(max, Math.sqrt(d2));
  }
  return { n: rows.length, rms: rows.length ? Math.sqrt(s / rows.length) : 0, max };
}

/**
 * Residual vectors against ground truth, in image coordinates (y down), magnified by `scale` (default: so
 * the largest is about a twentieth of the image), with the RMS and maximum in the title.
 */
export function residualView(rows: Residual[], options: { title?: string; width?: number; height?: number; scale?: number; imageWidth?: number; imageHeight?: number } = {}): Rendered {
  const st = residualStats(rows);
  const title = options.title ?? "Residuals against ground truth";
  const summary = `${st.n} measures, RMS ${st.rms.toFixed(3)} px, max ${st.max.toFixed(3)} px`;
  if (rows.length === 0) return rendered(`<p><b>${title}</b>: no measures</p>`, `${title}: no measures`);
  const w = options.imageWidth ?? Math.max(...rows.map((r) => r.x)) + 1;
  const h = options.imageHeight ?? Math.max(...rows.map((r) => r.y)) + 1;
  const scale = options.scale ?? (st.max > 0 ? Math.max(w, h) / 20 / st.max : 1);
  const chart = Plot.plot({
    document: plotDocument(),
    width: options.width ?? 560,
    height: options.height ?? Math.round(((options.width ?? 560) * h) / w),
    title,
    subtitle: `${summary}; arrows magnified ×${scale.toPrecision(3)}`,
    x: { domain: [-0.5, w - 0.5], label: "x (pixels)" },
    y: { domain: [h - 0.5, -0.5], label: "y (pixels)" },
    color: { legend: rows.some((r) => r.image), label: "image" },
    marks: [
      Plot.frame({ stroke: "#ccc" }),
      Plot.arrow(rows, {
        x1: "x", y1: "y", x2: (r: Residual) => r.x + r.dx * scale, y2: (r: Residual) => r.y + r.dy * scale,
        stroke: rows.some((r) => r.image) ? "image" : "#e15759", headLength: 4,
        title: (r: Residual) => `${r.image ? `${r.image} ` : ""}(${r.x.toFixed(1)}, ${r.y.toFixed(1)}): ${Math.hypot(r.dx, r.dy).toFixed(3)} px`,
      }),
      Plot.dot(rows, { x: "x", y: "y", r: 1.5, fill: "#333" }),
    ],
  });
  return rendered(chart.outerHTML, `${title}: ${summary}`);
}
