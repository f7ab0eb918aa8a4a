import type * as PlotTypes from "@observablehq/plot" with { "resolution-mode": "import" };

// @observablehq/plot is ESM-only; Node 20.19+ can require() it from this CommonJS build (and vitest too).
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const Plot = require("@observablehq/plot") as typeof PlotTypes;

let doc: Document | undefined;

/** A server-side DOM document (linkedom) for Plot to draw into: no browser needed. */
export function plotDocument(): Document {
  if (!doc) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseHTML } = require("linkedom") as { parseHTML: (html: string) => { document: Document } };
    doc = parseHTML("<!doctype html><html><body></body></html>").document;
  }
  return doc;
}

/** How a display's title and subtitle look: the same in a notebook, an exported page or a PNG. */
const TITLE_STYLE = "margin:0 0 2px;font:600 15px/1.3 system-ui,-apple-system,'Segoe UI',sans-serif;color:#222";
const SUBTITLE_STYLE = "margin:0 0 8px;font:400 12.5px/1.35 system-ui,-apple-system,'Segoe UI',sans-serif;color:#555";

/**
 * A Plot chart's HTML, its title (`<h2>`) and subtitle (`<h3>`) styled in place: left to the page, they
 * would take its heading styles (a 24 px bold serif in a bare page, the notebook's section headings in
 * Jupyter), larger than the chart they name.
 */
export function figureHtml(chart: Element): string {
  if (chart.tagName?.toLowerCase() === "figure") {
    for (const child of Array.from(chart.children)) {
      const tag = child.tagName.toLowerCase();
      if (tag === "h2") child.setAttribute("style", TITLE_STYLE);
      else if (tag === "h3") child.setAttribute("style", SUBTITLE_STYLE);
    }
  }
  return chart.outerHTML;
}
