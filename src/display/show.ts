/**
 * Every display function returns a `Rendered`: plain values (HTML with an SVG chart, and a text form),
 * easy to test without a browser. `show()` puts one in the notebook when running inside a tslab kernel,
 * and prints its text form anywhere else — the same call works in a notebook and in a script.
 */
export interface Rendered {
  /** HTML (usually a <figure> or <svg> made by Observable Plot). */
  html: string;
  /** A readable text form for terminals and logs. */
  text: string;
  /** The values drawn, where a display keeps them (the series of a chart): for tests, and for anyone who wants the numbers. */
  data?: unknown;
  toString(): string;
}

export function rendered(html: string, text: string, data?: unknown): Rendered {
  return data === undefined ? { html, text, toString: () => text } : { html, text, data, toString: () => text };
}

interface TslabDisplay {
  html(s: string): void;
  text(s: string): void;
}
interface TslabModule {
  display: TslabDisplay;
  newDisplay(): TslabDisplay;
}

let tslab: TslabModule | null | undefined;

function loadTslab(): TslabModule | null {
  if (tslab === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      tslab = require("tslab") as TslabModule;
    } catch {
      tslab = null;
    }
  }
  return tslab;
}

/** Whether this process is a tslab kernel executing a cell (displays then go to the notebook). */
export function inKernel(): boolean {
  const t = loadTslab();
  if (!t) return false;
  try {
    // tslab throws "Not ready" outside a kernel; an empty text display is harmless inside one
    (t.newDisplay() as TslabDisplay).text("");
    return true;
  } catch {
    return false;
  }
}

/** Shows a display: in a notebook as HTML, elsewhere as text on stdout. */
export function show(r: Rendered): void {
  const t = loadTslab();
  if (t) {
    try {
      t.display.html(r.html);
      return;
    } catch {
      // not inside a kernel: fall through to text
    }
  }
  console.log(r.text);
}

/** A display that can be replaced in place (a progress bar): in a notebook, one output updated; elsewhere, `onText`. */
export function updatableDisplay(onText: (text: string) => void): (r: Rendered) => void {
  const t = loadTslab();
  let d: TslabDisplay | undefined;
  if (t) {
    try {
      d = t.newDisplay();
      d.html("");
    } catch {
      d = undefined;
    }
  }
  return (r) => (d ? d.html(r.html) : onText(r.text));
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}
