/**
 * ~100 poison messages for the chaos suite, pushed raw onto the processing list. Each carries a marker
 * (`chaos-poison-NNNN`, ASCII) where its bytes can hold one, so that its fate can be found: in the
 * quarantine list, in the dead-letter list (with a reason), or as a row of chaos_runs (a message that is
 * in fact a valid foreign job — a missing `count` means 0 — runs once as its own job). The few that cannot
 * hold a marker (empty, `null`, `[]`, `42`, whitespace) are matched by their exact bytes in quarantine.
 */

export type PoisonFate = "quarantine" | "dead" | "run";

export interface Poison {
  label: string;
  bytes: Buffer;
  /** Where it should end up (any accounted fate counts; a different one is reported). */
  expect: PoisonFate;
  marker?: string;
}

export const MARKER_RE = /chaos-poison-\d{4}/g;

export function poisonMessages(total = 100, realJobId = "aaaaaaaa-0"): Poison[] {
  const out: Poison[] = [];
  let n = 0;
  const marked = (label: string, expect: PoisonFate, make: (m: string) => string | Buffer) => {
    const marker = `chaos-poison-${String(n++).padStart(4, "0")}`;
    const b = make(marker);
    out.push({ label, expect, marker, bytes: Buffer.isBuffer(b) ? b : Buffer.from(b, "utf8") });
  };
  const bare = (label: string, text: string) => out.push({ label, expect: "quarantine", bytes: Buffer.from(text, "utf8") });
  const J = JSON.stringify;

  // bad JSON
  marked("bad JSON: truncated", "quarantine", (m) => `{"note":"${m}","func":"chaos_write","id":`);
  marked("bad JSON: trailing comma", "quarantine", (m) => `{"note":"${m}","func":"chaos_write","id":1,}`);
  marked("bad JSON: not JSON", "quarantine", (m) => `not json at all ${m}`);
  marked("bad JSON: single quotes", "quarantine", (m) => `{'note':'${m}','func':'chaos_write','id':1}`);
  marked("bad JSON: unclosed string", "quarantine", (m) => `{"note":"${m}`);
  marked("bad JSON: a JSON string", "quarantine", (m) => J(m));
  marked("bad JSON: NaN", "quarantine", (m) => `{"note":"${m}","func":"chaos_write","id":NaN}`);
  marked("bad JSON: python dict", "quarantine", (m) => `{'note': '${m}', 'func': 'chaos_write', 'id': 1, 'kwargs': None}`);
  // missing count (valid: missing means 0) — these are foreign jobs of their own, and run once
  for (let i = 0; i < 8; i++) {
    marked("missing count (valid foreign job: runs)", "run", (m) => J({ id: 900_000 + i, along: "node", func: "chaos_write", args: [], kwargs: { marker: m, ms: 1 } }));
  }
  // a kwarg named like an envelope field changes nothing; a kwarg holding a real job's id does not make it that job
  marked("kwargs.walltime = 0.001 (runs normally)", "run", (m) => J({ id: 900_100, func: "chaos_write", kwargs: { walltime: 0.001, count: 99, marker: m, ms: 1 } }));
  marked("kwargs.job_id of a real job (runs as its own)", "run", (m) => J({ id: 900_101, func: "chaos_write", kwargs: { job_id: realJobId, marker: m, ms: 1 } }));
  marked("a string holding \"walltime\":1 (runs normally)", "run", (m) => J({ id: 900_102, func: "chaos_write", kwargs: { s: '"walltime":1,"job_id":"x-1"', marker: m, ms: 1 } }));
  // unknown and hostile func: looked up in the registry only, dead-lettered with a reason
  for (const func of ["no_such_function", "__proto__", "constructor", "../../etc/passwd", "toString", "hasOwnProperty",
    "valueOf", "require('child_process').exec('touch /tmp/pwned')", "process.exit", "eval", "prototype", "__defineGetter__",
    "/bin/sh", "Function", " chaos_write", "CHAOS_WRITE"]) {
    marked(`hostile func ${J(func)}`, "dead", (m) => J({ id: 1, func, args: [], kwargs: { marker: m } }));
  }
  // wrong types
  const wrong: [string, Record<string, unknown>][] = [
    ["func a number", { id: 1, func: 42 }], ["func null", { id: 1, func: null }], ["func missing", { id: 1 }],
    ["func an object", { id: 1, func: { toString: "x" } }], ["id missing", { func: "chaos_write" }], ["id an object", { id: {}, func: "chaos_write" }],
    ["id [[1],[2]]", { id: [[1], [2]], func: "chaos_write" }], ["id [1,2,3]", { id: [1, 2, 3], func: "chaos_write" }],
    ["id true", { id: true, func: "chaos_write" }], ["id null", { id: null, func: "chaos_write" }], ["id empty string", { id: "", func: "chaos_write" }],
    ["args a string", { id: 1, func: "chaos_write", args: "x" }], ["kwargs a list", { id: 1, func: "chaos_write", kwargs: [1] }],
    ["kwargs a string", { id: 1, func: "chaos_write", kwargs: "x" }], ["count a string", { id: 1, func: "chaos_write", count: "x" }],
    ["count negative fraction", { id: 1, func: "chaos_write", count: -0.5 }], ["attempt 1.5", { id: 1, func: "chaos_write", attempt: 1.5 }],
    ["attempt a string", { id: 1, func: "chaos_write", attempt: "1" }], ["walltime banana", { id: 1, func: "chaos_write", walltime: "banana" }],
    ["walltime 99:99", { id: 1, func: "chaos_write", walltime: "1:99:99" }], ["walltime an object", { id: 1, func: "chaos_write", walltime: {} }],
    ["job_id ../../x", { job_id: "../../x", id: 1, func: "chaos_write" }],
    ["job_id a number", { job_id: 5, id: 1, func: "chaos_write" }], ["job_id with a space", { job_id: "a b", id: 1, func: "chaos_write" }],
    ["job_id 200 chars", { job_id: "x".repeat(200), id: 1, func: "chaos_write" }], ["param_step a string", { id: 1, func: "chaos_write", param_step: "2" }],
    ["infra_failures -1.5", { id: 1, func: "chaos_write", infra_failures: -1.5 }],
  ];
  // tolerated: an empty job_id is a missing one, kwargs null an empty mapping (foreign jobs that run once)
  marked("job_id empty (taken as missing: runs)", "run", (m) => J({ note: m, job_id: "", id: 900_103, func: "chaos_write", kwargs: { ms: 1 } }));
  marked("kwargs null (taken as {}: runs)", "run", (m) => J({ note: m, id: 900_104, func: "chaos_write", kwargs: null }));
  for (const [label, fields] of wrong) marked(`wrong type: ${label}`, "quarantine", (m) => J({ note: m, ...fields }));
  // an envelope contradicted by a repeated key (JSON.parse keeps the last, the Lua match the first)
  marked("envelope contradicted by a repeated count", "quarantine", (m) =>
    `{"job_id":"zzzzzzzz-1","walltime":60,"count":0,"attempt":1,"id":1,"along":"node","func":"chaos_write","args":[],"kwargs":{"marker":"${m}"},"count":5}`);
  marked("envelope contradicted by a repeated job_id", "quarantine", (m) =>
    `{"job_id":"zzzzzzzz-2","walltime":60,"count":0,"attempt":1,"id":1,"along":"node","func":"chaos_write","args":[],"kwargs":{"marker":"${m}"},"job_id":"zzzzzzzz-3"}`);
  // 1 MB
  for (let i = 0; i < 3; i++) {
    marked("1 MB kwargs", "quarantine", (m) => J({ note: m, id: 1, func: "chaos_write", kwargs: { pad: "x".repeat(1 << 20) } }));
  }
  // not UTF-8
  for (let i = 0; i < 4; i++) {
    marked("bytes that are not UTF-8 (in func)", "quarantine", (m) => Buffer.concat([Buffer.from(`{"note":"${m}","id":1,"func":"chaos_write`), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('","kwargs":{}}')]));
  }
  marked("bytes that are not UTF-8 (in kwargs)", "quarantine", (m) => Buffer.concat([Buffer.from(`{"note":"${m}","id":1,"func":"chaos_write","kwargs":{"s":"`), Buffer.from([0x80, 0x81, 0xed, 0xa0, 0x80]), Buffer.from('"}}')]));
  marked("bytes that are not UTF-8 (not JSON)", "quarantine", (m) => Buffer.concat([Buffer.from(m), Buffer.from([0xc0, 0xaf, 0xff])]));
  // 200 000-deep nesting
  const deep = 200_000;
  marked("200 000-deep lists", "quarantine", (m) => `{"note":"${m}","id":1,"func":"chaos_write","kwargs":{"x":${"[".repeat(deep)}${"]".repeat(deep)}}}`);
  marked("200 000-deep objects", "quarantine", (m) => `{"note":"${m}","id":1,"func":"chaos_write","kwargs":${'{"a":'.repeat(deep)}1${"}".repeat(deep)}}`);
  marked("200 000-deep, unbalanced", "quarantine", (m) => `{"note":"${m}","id":1,"func":"chaos_write","kwargs":{"x":${"[".repeat(deep)}}}`);
  // nothing to mark: matched by their exact bytes
  for (const text of ["", "", "", " ", "null", "[]", "42", "{}", "true"]) bare(`unmarked ${J(text)}`, text);
  // fill up to `total` with more of the commonest kinds
  for (let i = 0; out.length < total; i++) {
    if (i % 3 === 0) marked("bad JSON: truncated", "quarantine", (m) => `{"note":"${m}","func":"chaos_write","id":[1,`);
    else if (i % 3 === 1) marked("hostile func __proto__", "dead", (m) => J({ id: 2, func: "__proto__", kwargs: { marker: m } }));
    else marked("wrong type: kwargs a number", "quarantine", (m) => J({ note: m, id: 1, func: "chaos_write", kwargs: 7 }));
  }
  return out;
}
