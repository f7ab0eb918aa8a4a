import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";

// The layout is the architecture: these checks keep it so. Imports are read from the source text
// (static `import`/`export … from`, and `require("./…")`), type-only ones included: a type loop is a loop
// for a reader too.
const SRC = path.join(__dirname, "..", "src");

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith(".ts") && !e.name.endsWith(".d.ts") ? [p] : [];
  });
}

function resolve(from: string, spec: string): string | undefined {
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [`${base}.ts`, path.join(base, "index.ts")]) if (fs.existsSync(c)) return c;
  return undefined;
}

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const f of sourceFiles(SRC)) {
    const text = fs.readFileSync(f, "utf8");
    const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.[^"]*)"/g), ...text.matchAll(/require\("(\.[^"]*)"\)/g)].map((m) => m[1]!);
    graph.set(f, specs.map((s) => resolve(f, s)).filter((x): x is string => x !== undefined));
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === "open") found.push(stack.slice(stack.indexOf(m)).concat(m).map((p) => path.relative(SRC, p)));
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

describe("architecture", () => {
  it("has no import loops in src/", () => {
    const graph = importGraph();
    expect(graph.size).toBeGreaterThan(40);
    expect(cycles(graph)).toEqual([]);
  });

  it("the loop finder finds a loop (so the check above can fail)", () => {
    const a = path.join(SRC, "a.ts"), b = path.join(SRC, "b.ts");
    expect(cycles(new Map([[a, [b]], [b, [a]]]))).toEqual([["a.ts", "b.ts", "a.ts"]]);
  });

  it("the graph's model, the queue layer and the config import nothing from the layers above them", () => {
    const graph = importGraph();
    const upward: string[] = [];
    const rules: [string, string[]][] = [
      ["graph/model.ts", ["campaign/", "graph/graph", "display/", "cluster/", "worker/"]],
      ["queue/", ["campaign/", "graph/", "display/", "cluster/", "worker/"]],
      ["config/", ["queue/", "campaign/", "graph/", "display/", "cluster/", "worker/", "database/"]],
      ["database/", ["queue/", "campaign/", "graph/", "display/", "cluster/", "worker/"]],
    ];
    for (const [file, deps] of graph) {
      const rel = path.relative(SRC, file);
      for (const [where, forbidden] of rules) {
        if (!rel.startsWith(where)) continue;
        for (const d of deps) {
          const drel = path.relative(SRC, d);
          if (forbidden.some((f) => drel.startsWith(f))) upward.push(`${rel} -> ${drel}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });
});
