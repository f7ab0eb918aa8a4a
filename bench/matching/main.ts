/**
 * Matching benchmark: accuracy and speed of our subpixelRegister against AutoCNet's `pattern_match` (×8 cubic
 * upsampling, TM_CCOEFF_NORMED, integer peak) run in native OpenCV by a Python child process on the SAME chips.
 *
 *   node node_modules/typescript/bin/tsc -p bench/matching/tsconfig.json && node build/bench/matching/main.js [--quick]
 *
 * Options: --pairs N (chip pairs per set, default 300; --quick: 80), --heap-calls N (default 10000), --repeats N
 * (timing passes, the fastest is reported; default 2), --json FILE (write the figures), --no-python.
 *
 * Chips (bench/matching/texture.ts): analytic band-limited texture (equal energy per octave, 0.015–0.3 cycles/px,
 * std 30 DN) with exact pixel-area integration and σ = 2 DN Gaussian noise; reference chip 71², moving chip 101²,
 * the feature within ±3 px of the a-priori position (the moving chip's centre). Sets: `shift` (translation only) and
 * `rot±2°/scale±2%` (each pair rotated by ±2° and scaled by 0.98 or 1.02), and `shift, to 0.45 c/px` (texture up to
 * 0.45 cycles/px, close to Nyquist, where any interpolator struggles). Template 31 px, search 61 px.
 * Truth is exact. Times are per point, single thread, after a warm-up, the faster of `repeats` passes.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadOpenCv, wasmHeapBytes, wasmHeapProbe } from "../../src/vision/opencv";
import { type SubpixelOptions, subpixelRegister } from "../../src/vision/subpixel";
import { type ChipPair, makeChipPair } from "./texture";

const TEMPLATE = 31;
const SEARCH = 61;
const UPSAMPLING = 8;

interface Row {
  set: string;
  method: string;
  rms: number;
  max: number;
  msPerPoint: number;
  failed: number;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function stats(pairs: ChipPair[], positions: { x: number; y: number }[]) {
  let sq = 0;
  let max = 0;
  for (let i = 0; i < pairs.length; i++) {
    const e = Math.hypot(positions[i]!.x - pairs[i]!.truth.x, positions[i]!.y - pairs[i]!.truth.y);
    sq += e * e;
    max = Math.max(max, e);
  }
  return { rms: Math.sqrt(sq / pairs.length), max };
}

function runOurs(pairs: ChipPair[], options: (p: ChipPair) => SubpixelOptions, repeats: number) {
  for (let i = 0; i < Math.min(10, pairs.length); i++) {
    const p = pairs[i]!;
    subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, options(p));
  }
  let best = Infinity;
  let positions: { x: number; y: number }[] = [];
  let failed = 0;
  for (let rep = 0; rep < repeats; rep++) {
    const out: { x: number; y: number }[] = [];
    let fails = 0;
    let total = 0;
    for (const p of pairs) {
      const opts = options(p);
      const t0 = performance.now();
      const r = subpixelRegister(p.reference, p.refPoint, p.moving, p.apriori, opts);
      total += performance.now() - t0;
      if (r.status !== "ok") fails++;
      out.push({ x: r.x, y: r.y });
    }
    if (total / pairs.length < best) {
      best = total / pairs.length;
      positions = out;
      failed = fails;
    }
  }
  return { positions, msPerPoint: best, failed };
}

function runPython(pairs: ChipPair[], variants: string[], repeats: number) {
  const dir = mkdtempSync(path.join(tmpdir(), "autocnet-matching-bench-"));
  try {
    const refSize = pairs[0]!.reference.width;
    const movingSize = pairs[0]!.moving.width;
    const step = refSize * refSize + movingSize * movingSize;
    const chips = new Float32Array(step * pairs.length);
    pairs.forEach((p, i) => {
      chips.set(p.reference.data, i * step);
      chips.set(p.moving.data, i * step + refSize * refSize);
    });
    writeFileSync(path.join(dir, "chips.f32"), Buffer.from(chips.buffer, chips.byteOffset, chips.byteLength));
    const meta = {
      refSize,
      movingSize,
      templateSize: TEMPLATE,
      searchSize: SEARCH,
      upsampling: UPSAMPLING,
      variants,
      repeats,
      pairs: pairs.map((p) => ({ refPoint: p.refPoint, apriori: p.apriori, affine: p.affine })),
    };
    writeFileSync(path.join(dir, "meta.json"), JSON.stringify(meta));
    // The script sits next to this file's source: build/bench/matching/ → bench/matching/ (or from the project root).
    const script = [
      path.resolve(__dirname, "../../../bench/matching/pattern_match.py"),
      path.resolve(process.cwd(), "bench/matching/pattern_match.py"),
    ].find((f) => existsSync(f));
    if (!script) throw new Error("bench/matching/pattern_match.py not found (run from the project root)");
    const res = spawnSync("/usr/bin/python3", [script, dir], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1" },
    });
    if (res.status !== 0) throw new Error(`pattern_match.py failed (${res.status}): ${res.stderr || res.error}`);
    return JSON.parse(res.stdout) as {
      opencv: string;
      threads: number;
      variants: Record<string, { positions: [number, number][]; msPerPoint: number }>;
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const quick = process.argv.includes("--quick");
  const count = Number(arg("--pairs") ?? (quick ? 80 : 300));
  const heapCalls = Number(arg("--heap-calls") ?? 10_000);
  const repeats = Number(arg("--repeats") ?? 2);
  const withPython = !process.argv.includes("--no-python");
  await loadOpenCv();

  const t0 = performance.now();
  const sets: { name: string; pairs: ChipPair[]; rotated: boolean }[] = [
    {
      name: "shift",
      rotated: false,
      pairs: Array.from({ length: count }, (_, i) => makeChipPair({ seed: 10_000 + i, noiseSigma: 2 })),
    },
    {
      name: "rot±2°/scale±2%",
      rotated: true,
      pairs: Array.from({ length: count }, (_, i) =>
        makeChipPair({
          seed: 20_000 + i,
          noiseSigma: 2,
          rotationDeg: i % 2 ? 2 : -2,
          scale: Math.floor(i / 2) % 2 ? 1.02 : 0.98,
        }),
      ),
    },
    {
      // A harsher case: texture up to 0.45 cycles/px, near the Nyquist limit, where interpolation is hardest.
      name: "shift, to 0.45 c/px",
      rotated: false,
      pairs: Array.from({ length: count }, (_, i) =>
        makeChipPair({ seed: 30_000 + i, noiseSigma: 2, texture: { maxFrequency: 0.45 } }),
      ),
    },
  ];
  console.log(`chips: 3 sets × ${count} pairs rendered in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const rows: Row[] = [];
  let python: { opencv: string; threads: number } | undefined;
  for (const set of sets) {
    const base = { templateSize: TEMPLATE, searchSize: SEARCH };
    const variants: [string, (p: ChipPair) => SubpixelOptions][] = set.rotated
      ? [
          ["ours template + pre-warp", (p) => ({ ...base, affine: p.affine })],
          ["ours phase + pre-warp", (p) => ({ ...base, method: "phase", affine: p.affine })],
          ["ours template, no pre-warp", () => base],
        ]
      : [
          ["ours template", () => base],
          ["ours phase", () => ({ ...base, method: "phase" })],
        ];
    for (const [name, opts] of variants) {
      const r = runOurs(set.pairs, opts, repeats);
      rows.push({ set: set.name, method: name, ...stats(set.pairs, r.positions), msPerPoint: r.msPerPoint, failed: r.failed });
    }
    if (withPython) {
      const pyVariants = set.rotated
        ? ["pattern_match", "pattern_match_prewarp"]
        : ["pattern_match", "pattern_match_spline"];
      const py = runPython(set.pairs, pyVariants, repeats);
      python = { opencv: py.opencv, threads: py.threads };
      for (const v of pyVariants) {
        const res = py.variants[v]!;
        const positions = res.positions.map(([x, y]) => ({ x, y }));
        const label = {
          pattern_match: "AutoCNet pattern_match ×8 (cv2.resize cubic)",
          pattern_match_spline: "AutoCNet pattern_match ×8 (spline, as skimage)",
          pattern_match_prewarp: "AutoCNet pattern_match ×8 + pre-warp",
        }[v]!;
        rows.push({ set: set.name, method: label, ...stats(set.pairs, positions), msPerPoint: res.msPerPoint, failed: 0 });
      }
    }
  }

  console.log(
    python
      ? `native OpenCV ${python.opencv} (Python, ${python.threads} thread); ours: Node ${process.version}, opencv.js 4.12 WASM`
      : "Python side skipped (--no-python)",
  );
  console.log(`template ${TEMPLATE} px, search ${SEARCH} px, σ = 2 DN noise, a-priori error ±3 px\n`);
  const pad = (s: string, n: number) => s.padEnd(n);
  console.log(`${pad("set", 21)}${pad("method", 50)}${pad("RMS px", 9)}${pad("max px", 9)}${pad("ms/point", 10)}not ok`);
  for (const r of rows) {
    console.log(
      `${pad(r.set, 21)}${pad(r.method, 50)}${pad(r.rms.toFixed(4), 9)}${pad(r.max.toFixed(4), 9)}${pad(r.msPerPoint.toFixed(3), 10)}${r.failed}`,
    );
  }

  // WASM heap: 10 000 registrations must not grow OpenCV's heap.
  const p = sets[1]!.pairs;
  const before = { bytes: wasmHeapBytes(), probe: wasmHeapProbe() };
  const th = performance.now();
  for (let i = 0; i < heapCalls; i++) {
    const q = p[i % p.length]!;
    subpixelRegister(q.reference, q.refPoint, q.moving, q.apriori, {
      affine: q.affine,
      method: i % 10 === 9 ? "phase" : "template",
    });
  }
  const after = { bytes: wasmHeapBytes(), probe: wasmHeapProbe() };
  const heap = {
    calls: heapCalls,
    seconds: (performance.now() - th) / 1000,
    heapBytesBefore: before.bytes,
    heapBytesAfter: after.bytes,
    allocatorProbeBefore: before.probe,
    allocatorProbeAfter: after.probe,
  };
  console.log(
    `\nWASM heap over ${heapCalls} subpixelRegister calls (${heap.seconds.toFixed(1)} s): ` +
      `heap ${before.bytes} → ${after.bytes} bytes, allocator probe ${before.probe} → ${after.probe} ` +
      (after.bytes === before.bytes && after.probe === before.probe ? "(no growth)" : "(GREW)"),
  );
  const json = arg("--json");
  if (json) writeFileSync(json, JSON.stringify({ count, rows, heap, python }, null, 2));
  if (after.bytes !== before.bytes || after.probe !== before.probe) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
