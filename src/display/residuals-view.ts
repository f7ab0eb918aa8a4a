import { figureHtml, Plot, plotDocument } from "./dom";
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
 * the largest is about a twelfth of the image), with the RMS and maximum in the title and a key arrow of a
 * round length (bottom right) to read the magnified arrows by.
 */
export function residualView(rows: Residual[], options: { title?: string; width?: number; height?: number; scale?: number; imageWidth?: number; imageHeight?: number; noun?: string } = {}): Rendered {
  const st = residualStats(rows);
  const title = options.title ?? "Residuals against ground truth";
  // what the rows are, in the summary: measures (default), or matches, inliers …
  const summary = `${st.n} ${options.noun ?? "measures"}, RMS ${st.rms.toFixed(3)} px, max ${st.max.toFixed(3)} px`;
  if (rows.length === 0) return rendered(`<p><b>${title}</b>: no measures</p>`, `${title}: no measures`);
  const w = options.imageWidth ?? Math.max(...rows.map((r) => r.x)) + 1;
  const h = options.imageHeight ?? Math.max(...rows.map((r) => r.y)) + 1;
  const scale = options.scale ?? (st.max > 0 ? Math.max(w, h) / 12 / st.max : 1);
  // a key: an arrow of a round length (1, 2 or 5 × 10^k px) about a tenth of the frame wide, bottom right
  const keyPx = roundDown(w / 10 / scale);
  const keyX2 = w - 0.5 - 0.04 * w, keyY = h - 0.5 - 0.05 * h;
  const key = [{ x1: keyX2 - keyPx * scale, x2: keyX2, y: keyY, label: `${keyPx} px` }];
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
      Plot.link(key, { x1: "x1", x2: "x2", y1: "y", y2: "y", stroke: "#333", strokeWidth: 1.5, markerEnd: "arrow" }),
      Plot.text(key, { x: (k: { x1: number; x2: number }) => (k.x1 + k.x2) / 2, y: "y", text: "label", dy: -8, fontSize: 10, fill: "#333" }),
    ],
  });
  return rendered(figureHtml(chart), `${title}: ${summary}`);
}

/** The largest 1, 2 or 5 × 10^k not above v. */
function roundDown(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  const m = v / p;
  return Number(((m >= 5 ? 5 : m >= 2 ? 2 : 1) * p).toPrecision(1));
}
