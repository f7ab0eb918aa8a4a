import type { Raster } from "../image/raster";
import { encodePng, pngDataUri } from "./png";
import { escapeHtml, rendered, type Rendered } from "./show";

/** A marker on an image, in the raster's pixel convention (0-based, pixel centres at integers). */
export interface ImageMarker {
  x: number;
  y: number;
  /** radius in image pixels (default: 1 % of the image's larger side, at least 2) */
  r?: number;
  color?: string;
  /** tooltip */
  title?: string;
}

/** A pair of positions, one in each of two images: a match. */
export interface MatchPair {
  ax: number;
  ay: number;
  bx: number;
  by: number;
  /** kept by the outlier filter (drawn green) or rejected (red); undefined: grey */
  inlier?: boolean;
}

/**
 * The SVG of an image with markers, in image pixel coordinates: the picture covers [−0.5, width − 0.5] ×
 * [−0.5, height − 0.5], so a marker at (x, y) sits on the centre of pixel (x, y) exactly.
 */
export function imageSvg(raster: Raster, markers: ImageMarker[] = [], options: { displayWidth?: number; offsetX?: number } = {}): string {
  const { width: w, height: h } = raster;
  // small frames are shown enlarged (pixelated, so each pixel stays visible), large ones fit 640 px
  const dw = options.displayWidth ?? Math.min(640, Math.max(480, w));
  const r0 = Math.max(2, Math.max(w, h) / 100);
  // thousands of keypoints: thinner, translucent rings, so the image stays visible under them
  const stroke = markers.length > 300 ? `stroke-width="1" stroke-opacity="0.8"` : `stroke-width="1.5"`;
  const circles = markers.map((m) =>
    `<circle cx="${m.x}" cy="${m.y}" r="${m.r ?? r0}" fill="none" stroke="${m.color ?? "#ffcc00"}" ${stroke} vector-effect="non-scaling-stroke">` +
    `${m.title ? `<title>${escapeHtml(m.title)}</title>` : ""}</circle>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 ${w} ${h}" width="${dw}" height="${Math.round((dw * h) / w)}" style="background:#222">` +
    `<image href="${pngDataUri(encodePng(raster))}" x="-0.5" y="-0.5" width="${w}" height="${h}" preserveAspectRatio="none" style="image-rendering:pixelated"/>` +
    `${circles}</svg>`;
}

/** An image with its keypoints (or any markers), e.g. `imageView(raster, {markers: features.keypoints})`. */
export function imageView(raster: Raster, options: { markers?: ImageMarker[]; title?: string; displayWidth?: number } = {}): Rendered {
  const markers = options.markers ?? [];
  const title = options.title ?? `Image ${raster.width} × ${raster.height}`;
  const html = `<figure style="margin:0;font:13px sans-serif"><figcaption style="font-weight:bold;padding-bottom:4px">${escapeHtml(title)}` +
    `<span style="font-weight:normal;color:#555"> — ${markers.length.toLocaleString("en-US")} markers</span></figcaption>` +
    `${imageSvg(raster, markers, { displayWidth: options.displayWidth })}</figure>`;
  return rendered(html, `${title}: ${raster.width} × ${raster.height} pixels, ${markers.length} markers`);
}

/**
 * Two images side by side with a line per match (inliers green, outliers red): what matching and outlier
 * rejection did on one edge.
 */
export function matchesView(a: Raster, b: Raster, pairs: MatchPair[], options: { title?: string; displayWidth?: number; maxLines?: number } = {}): Rendered {
  const gap = Math.round(Math.max(a.width, b.width) * 0.04);
  const W = a.width + gap + b.width, H = Math.max(a.height, b.height);
  // 960 px wide: large pairs shrink to fit, small ones are enlarged so the lines can be told apart
  const dw = options.displayWidth ?? 960;
  // above maxLines, an even sample of the matches (every k-th), not the first ones, so every part of the pair shows
  const max = Math.max(1, options.maxLines ?? 600);
  const step = pairs.length > max ? pairs.length / max : 1;
  const shown = step === 1 ? pairs : Array.from({ length: max }, (_, i) => pairs[Math.floor(i * step)]!);
  const inliers = pairs.filter((p) => p.inlier === true).length, outliers = pairs.filter((p) => p.inlier === false).length;
  const color = (p: MatchPair) => (p.inlier === true ? "#59c36a" : p.inlier === false ? "#e15759" : "#bbbbbb");
  const opacity = shown.length > 200 ? 0.55 : 0.85;
  const line = (p: MatchPair) =>
    `<line x1="${p.ax}" y1="${p.ay}" x2="${p.bx + a.width + gap}" y2="${p.by}" stroke="${color(p)}" stroke-width="1" stroke-opacity="${opacity}" vector-effect="non-scaling-stroke"/>`;
  const lines = shown.map(line).join("");
  const title = options.title ?? "Matches";
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="-0.5 -0.5 ${W} ${H}" width="${dw}" height="${Math.round((dw * H) / W)}" style="background:#fff">` +
    `<image href="${pngDataUri(encodePng(a))}" x="-0.5" y="-0.5" width="${a.width}" height="${a.height}" preserveAspectRatio="none"/>` +
    `<image href="${pngDataUri(encodePng(b))}" x="${a.width + gap - 0.5}" y="-0.5" width="${b.width}" height="${b.height}" preserveAspectRatio="none"/>` +
    `${lines}</svg>`;
  const summary = `${pairs.length.toLocaleString("en-US")} matches` +
    (inliers + outliers > 0 ? `: ${inliers.toLocaleString("en-US")} inliers (green), ${outliers.toLocaleString("en-US")} outliers (red)` : "") +
    (shown.length < pairs.length ? `; ${shown.length} drawn (an even sample)` : "");
  const html = `<figure style="margin:0;font:13px sans-serif"><figcaption style="font-weight:bold;padding-bottom:4px">${escapeHtml(title)}` +
    `<span style="font-weight:normal;color:#555"> — ${escapeHtml(summary)}</span></figcaption>${svg}</figure>`;
  return rendered(html, `${title}: ${summary}`);
}
