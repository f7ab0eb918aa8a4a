import type { EdgeAttributes, NodeAttributes } from "../graph/model";
import { bbox, ringArea, type MultiPolygonCoords } from "../geometry/polygons";
import { colorScale, STATUS_COLORS } from "./colors";
import { figureHtml, Plot, plotDocument } from "./dom";
import { rendered, type Rendered } from "./show";

type Status = "succeeded" | "failed" | "not run";

/** A control point on the map: where it is and how its registration went. */
export interface MapPoint {
  lon: number;
  lat: number;
  status?: "registered" | "candidate" | "ignored";
  label?: string;
}

const POINT_COLORS: Record<NonNullable<MapPoint["status"]>, string> = { registered: "#1f5fd1", candidate: "#f2a900", ignored: "#9a9a9a" };

function statusOf(attrs: { jobStatus: Record<string, { success: boolean }> }, func?: string): Status {
  if (!func) return "not run";
  const s = attrs.jobStatus[func];
  return !s ? "not run" : s.success ? "succeeded" : "failed";
}

/**
 * The graph on a lon/lat map: image footprints as outlines, overlaps (edges) filled and coloured by the
 * `jobStatus` of one function, e.g. `footprintMap(ncg.nodes, ncg.edges, { func: "overlap" })`.
 */
export function footprintMap(
  nodes: Map<number, NodeAttributes> | NodeAttributes[],
  edges: Map<string, EdgeAttributes> | EdgeAttributes[],
  options: { func?: string; title?: string; width?: number; points?: MapPoint[] } = {},
): Rendered {
  const nodeList = [...nodes.values()].filter((n) => n.footprint);
  const edgeList = [...edges.values()].filter((e) => e.overlap && e.overlap.length > 0);
  const title = options.title ?? `Footprints and overlaps${options.func ? `, coloured by jobStatus.${options.func}` : ""}`;
  const counts: Record<Status, number> = { succeeded: 0, failed: 0, "not run": 0 };
  // a node function (footprint_stats, say) colours the footprints themselves; an edge function, the overlaps
  const nodeFunc = options.func !== undefined && nodeList.some((n) => n.jobStatus[options.func!]);
  const edgeFeatures = edgeList.map((e) => {
    const status = statusOf(e, options.func);
    if (!nodeFunc) counts[status]++;
    return { type: "Feature" as const, geometry: forD3(e.overlap!), properties: { status, edge: `${e.source}–${e.destination}`, area: e.overlapArea, km2: e.overlapAreaKm2 } };
  });
  const nodeFeatures = nodeList.map((n) => {
    const status = statusOf(n, options.func);
    if (nodeFunc) counts[status]++;
    return { type: "Feature" as const, geometry: forD3(n.footprint!), properties: { name: n.name, id: n.id, status, km2: n.areaKm2 } };
  });
  const points = options.points ?? [];
  const km2Total = edgeList.length > 0 && edgeList.every((e) => e.overlapAreaKm2 !== undefined)
    ? edgeList.reduce((t, e) => t + e.overlapAreaKm2!, 0) : undefined;
  const text = `${title}: ${nodeList.length} footprints, ${edgeList.length} overlaps` +
    (points.length > 0 ? `, ${points.length} points (${points.filter((p) => p.status === "registered").length} registered)` : "") +
    (nodeFunc ? " — footprints coloured" : "") +
    (options.func ? ` (${counts.succeeded} succeeded, ${counts.failed} failed, ${counts["not run"]} not run)` : "");
  if (nodeFeatures.length === 0) return rendered(`<p><b>${title}</b>: no footprints</p>`, text);
  const all = { type: "FeatureCollection" as const, features: [...nodeFeatures, ...edgeFeatures] };
  const box = nodeList.map((n) => bbox(n.footprint!)).reduce((a, b) => ({
    minX: Math.min(a.minX, b.minX), minY: Math.min(a.minY, b.minY), maxX: Math.max(a.maxX, b.maxX), maxY: Math.max(a.maxY, b.maxY),
  }));
  const ticks = { lon: niceTicks(box.minX, box.maxX), lat: niceTicks(box.minY, box.maxY) };
  // graticule lines at the labelled longitudes and latitudes (d3's default, every 10°, misses a small campaign)
  const lines = {
    type: "MultiLineString" as const,
    coordinates: [
      ...ticks.lon.map((lon) => densify([lon, box.minY], [lon, box.maxY])),
      ...ticks.lat.map((lat) => densify([box.minX, lat], [box.maxX, lat])),
    ],
  };
  const chart = Plot.plot({
    document: plotDocument(),
    width: options.width ?? 720,
    title,
    subtitle: `${nodeList.length} images, ${edgeList.length} overlapping pairs` +
      (km2Total !== undefined ? `, overlaps ${formatKm2(km2Total)} in all` : "") + "; lon/lat degrees",
    projection: { type: "equirectangular", domain: all as never, inset: 10 },
    marginLeft: 48,
    marginBottom: 24,
    color: { ...colorScale(STATUS_COLORS), legend: true, label: options.func ? `jobStatus.${options.func}` : "status" },
    marks: [
      Plot.geo([lines], { stroke: "#000", strokeOpacity: 0.12 }),
      Plot.geo(edgeFeatures, { fill: (d: { properties: { status: Status } }) => d.properties.status, fillOpacity: 0.75, stroke: "white", strokeWidth: 0.3,
        title: (d: { properties: { edge: string; status: Status; area: number; km2?: number } }) =>
          `edge ${d.properties.edge}: ${d.properties.status}, overlap ${d.properties.km2 !== undefined ? `${formatKm2(d.properties.km2)} (${d.properties.area.toFixed(4)} deg²)` : `${d.properties.area.toFixed(4)} deg²`}` }),
      Plot.geo(nodeFeatures, {
        stroke: "#333", strokeWidth: 0.8,
        fill: nodeFunc ? (d: { properties: { status: Status } }) => d.properties.status : "none", fillOpacity: 0.35,
        title: (d: { properties: { name: string; status: Status; km2?: number } }) =>
          `${d.properties.name}${d.properties.km2 !== undefined ? `, ${formatKm2(d.properties.km2)}` : ""}${nodeFunc ? `: ${d.properties.status}` : ""}`,
      }),
      Plot.dot(points, {
        x: "lon", y: "lat", r: 2.2, stroke: "white", strokeWidth: 0.5,
        fill: (p: MapPoint) => POINT_COLORS[p.status ?? "candidate"],
        title: (p: MapPoint) => `${p.label ?? "point"}: ${p.status ?? "candidate"} (${p.lon.toFixed(4)}°, ${p.lat.toFixed(4)}°)`,
      }),
      // a projection has no axes: label the graticule lines along the south and west edges instead
      Plot.text(ticks.lon, { x: (d: number) => d, y: box.minY, text: (d: number) => `${d}°E`, dy: 10, fontSize: 9, fill: "#555" }),
      Plot.text(ticks.lat, { x: box.minX, y: (d: number) => d, text: (d: number) => (d < 0 ? `${-d}°S` : `${d}°N`), dx: -4, textAnchor: "end", fontSize: 9, fill: "#555" }),
    ],
  }) as unknown as Element;
  return rendered(points.length > 0 ? withPointLegend(chart, points) : figureHtml(chart), text);
}

/**
 * The map's colour legend is the overlaps'; the points' statuses get their own, above the map. Swatches are
 * styled spans, not SVG, so the map's circles are only the points.
 */
function withPointLegend(chart: Element, points: MapPoint[]): string {
  const counts = new Map<string, number>();
  for (const p of points) counts.set(p.status ?? "candidate", (counts.get(p.status ?? "candidate") ?? 0) + 1);
  const items = (Object.keys(POINT_COLORS) as (keyof typeof POINT_COLORS)[]).map((status) =>
    `<span style="display:inline-flex;align-items:center;margin-right:1em"><span style="display:inline-block;width:9px;height:9px;border-radius:50%;` +
    `background:${POINT_COLORS[status]};margin-right:0.4em"></span>${status} points (${counts.get(status) ?? 0})</span>`).join("");
  const legend = `<div style="font:10px sans-serif;margin:4px 0 0 0">${items}</div>`;
  const html = figureHtml(chart);
  // before the map itself: the figure's last <svg> (Plot puts its title, subtitle and colour legend first)
  const at = html.lastIndexOf("<svg");
  return at > 0 && chart.tagName.toLowerCase() === "figure" ? html.slice(0, at) + legend + html.slice(at) : legend + html;
}

/** A line from a to b in lon/lat as 24 segments, so the projection draws it straight on the map. */
function densify(a: [number, number], b: [number, number]): [number, number][] {
  return Array.from({ length: 25 }, (_, i) => [a[0] + ((b[0] - a[0]) * i) / 24, a[1] + ((b[1] - a[1]) * i) / 24] as [number, number]);
}

/** Round-number ticks (1, 2 or 5 × 10^k degrees) inside [lo, hi], about five of them. */
function niceTicks(lo: number, hi: number): number[] {
  const span = Math.max(hi - lo, 1e-9);
  const raw = span / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(Number(v.toFixed(10)));
  return out;
}

/**
 * GeoJSON for d3-geo, which draws on the sphere and reads a ring's winding: an exterior ring must run
 * clockwise (GeoJSON's own convention is the opposite), or the polygon means "the whole sphere but this".
 */
function forD3(mp: MultiPolygonCoords): { type: "MultiPolygon"; coordinates: MultiPolygonCoords } {
  return {
    type: "MultiPolygon",
    coordinates: mp.map((poly) => poly.map((ring, i) => {
      const clockwise = ringArea(ring) < 0;
      return (i === 0) === clockwise ? ring : [...ring].reverse();
    })),
  };
}

/** An area in km², with a sensible number of digits. */
export function formatKm2(km2: number): string {
  return `${km2 >= 100 ? Math.round(km2).toLocaleString("en-US") : km2 >= 1 ? km2.toFixed(1) : km2.toPrecision(2)} km²`;
}
