/**
 * ISIS file lists (`.lis`): one cube path per line, as ISIS's FileList reads them (`fromlist=` of
 * cnetbin2pvl, jigsaw, pointreg…).
 *
 * ISIS (FileList::read) skips blank lines and lines starting with `#` or `//`, strips surrounding double
 * quotes, and keeps only the first token of a line: up to a space, tab or (unquoted) comma. So a path with
 * white space or a comma cannot be listed; writeImageList refuses such paths rather than let ISIS read a
 * different file, and readImageList refuses lines where ISIS would drop text.
 */
import * as fs from "node:fs";
import { ControlNetError } from "./model";
import { writeFileAtomic } from "./write";

/** ISIS reads a line into a 64 KiB buffer. */
const MAX_LINE = 65535;

/** Why ISIS would not read `p` back as written, or undefined. */
function listProblem(p: unknown): string | undefined {
  if (typeof p !== "string") return `is not a string (${typeof p})`;
  if (p.length === 0) return "is empty";
  if (/[\s,"]/.test(p)) return "contains white space, a comma or a double quote, which ISIS's file lists cannot hold; rename or symlink the file";
  if (p.startsWith("#") || p.startsWith("//")) return "starts with '#' or '//', which ISIS reads as a comment; use ./ before it";
  if (Buffer.byteLength(p, "utf8") >= MAX_LINE) return `is longer than the ${MAX_LINE} bytes ISIS reads per line`;
  return undefined;
}

/** Writes `paths`, one per line (LF), atomically. */
export async function writeImageList(file: string, paths: readonly string[]): Promise<void> {
  if (!Array.isArray(paths) || paths.length === 0) {
    throw new ControlNetError(`${file}: no image paths to write; ISIS rejects an empty list ("Input Stream Empty")`, file);
  }
  const problems = paths.flatMap((p, i) => {
    const why = listProblem(p);
    return why ? [`line ${i + 1} (${JSON.stringify(p)}) ${why}`] : [];
  });
  if (problems.length > 0) {
    const more = problems.length > 10 ? `\n  … and ${problems.length - 10} more` : "";
    throw new ControlNetError(`${file}: image list not written:\n  - ${problems.slice(0, 10).join("\n  - ")}${more}`, file);
  }
  await writeFileAtomic(file, paths.map((p) => `${p}\n`).join(""));
}

/** Reads a file list as ISIS would, returning the paths in order. */
export async function readImageList(file: string): Promise<string[]> {
  let text: string;
  try {
    const bytes = await fs.promises.readFile(file);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT") throw new ControlNetError(`${file}: cannot read the image list: no such file`, file);
    if (err instanceof TypeError) throw new ControlNetError(`${file}: the image list is not UTF-8 text`, file);
    throw new ControlNetError(`${file}: cannot read the image list: ${e.message}`, file);
  }
  const out: string[] = [];
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    if (raw.length > MAX_LINE) throw new ControlNetError(`${file}: line ${lineNo} is longer than the ${MAX_LINE} bytes ISIS reads per line`, file);
    let s = raw.replace(/\r$/, "");
    if (/^ *(#|\/\/)/.test(s)) return;
    const quoted = s.includes('"');
    if (quoted) s = s.replace(/^"+/, "").replace(/"+$/, "");
    s = s.replace(/^[ \n\r\t\v]+/, "");
    if (s.length === 0) return;
    const token = s.split(quoted ? /[ \n\r\t\v]/ : /[ \n\r\t\v,]/)[0];
    const rest = s.slice(token.length).trim();
    if (rest.length > 0) {
      throw new ControlNetError(
        `${file}: line ${lineNo} has text after the path (${JSON.stringify(rest.slice(0, 40))}); ISIS would read only ${JSON.stringify(token)} — put one path per line`,
        file,
      );
    }
    out.push(token);
  });
  return out;
}
