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
