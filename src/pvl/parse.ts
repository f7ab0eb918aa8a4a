/**
 * The PVL parser: ISIS cube labels (attached or detached), PDS-style `Object`/`Group` text. See types.ts for what it
 * returns.
 *
 * It follows ISIS's reader (PvlKeyword/PvlObject) where PVL dialects differ, because ISIS wrote the labels we read:
 * - `Object`, `Group`, `Begin_Object`, `Begin_Group`, `End_Object`, `End_Group` (optionally `= Name`, checked) and
 *   `End`, in any case. `End` ends the label: what follows (the binary cube) is not looked at. Without `End` the label
 *   ends with the text, as in a detached label.
 * - A line ending in `-` continues on the next line with the `-` and the next line's indentation removed — in unquoted
 *   values and, as ISIS writes long unbroken strings, inside quoted ones too. Any other line break inside a quoted
 *   string becomes one space (ISIS wraps long strings at spaces).
 * - Units `<meters>` follow a value or a whole sequence (possibly on the next line); a unit after `(a, b)` is the unit
 *   of the sequence: `{ value: [a, b], unit }`.
 * - Comments: `/* … *\/` anywhere between tokens, `#` and `//` to the end of the line where a statement may start or
 *   after a value.
 * - One keyword per line: `A = 1 B = 2` and `Description = two words` are errors (quote values with spaces), as in
 *   ISIS. A keyword without `= value` is an error too (ISIS accepts one; we would rather flag a broken label).
 *
 * Hostile input: one linear pass, no backtracking regular expressions over the text, Objects/Groups and sequences
 * nested at most `maxDepth` levels (default 64; ISIS labels use 3), a NUL byte before `End` is reported rather than
 * parsed as text, and names such as `__proto__` become ordinary properties.
 */
import { PvlError } from "./error";
import { parsePvlNumber, radixProblem } from "./numbers";
import { isRepeated, mark, type PvlBlockKind, type PvlEntry, type PvlObject, type PvlScalar, type PvlValue } from "./types";

export interface ParsePvlOptions {
  /** deepest nesting accepted, counted separately for Objects/Groups and for sequences (default 64) */
  maxDepth?: number;
  /** a file name for error messages */
  source?: string;
}

export const DEFAULT_MAX_DEPTH = 64;

interface Frame {
  block: PvlObject;
  kind: PvlBlockKind;
  name: string;
  line: number;
  keys: Map<string, string>;
}

const SPACE = new Set([" ", "\t", "\r", "\f", "\v"]);
/** Characters that end an unquoted value or a name. */
const VALUE_STOP = new Set([" ", "\t", "\r", "\n", "\f", "\v", ",", "(", ")", "{", "}", "<", ">", '"', "'", "\0"]);
const NAME_STOP = new Set([...VALUE_STOP, "="]);
// Maps, not object literals: a keyword named `__proto__` or `constructor` must not look like a block word.
const BLOCK_OPEN = new Map<string, "object" | "group">([
  ["object", "object"],
  ["begin_object", "object"],
  ["group", "group"],
  ["begin_group", "group"],
]);
const BLOCK_CLOSE = new Map<string, "object" | "group">([
  ["end_object", "object"],
  ["end_group", "group"],
]);
const KIND_NAME = { object: "Object", group: "Group", root: "label" } as const;

/** Parses PVL text into plain objects. Throws {@link PvlError} naming the line and what was expected. */
export function parsePvl(text: string, options: ParsePvlOptions = {}): PvlObject {
  try {
    return new Parser(text, options.maxDepth ?? DEFAULT_MAX_DEPTH).parse();
  } catch (e) {
    if (e instanceof PvlError && options.source) throw e.withSource(options.source);
    throw e;
  }
}

class Parser {
  private pos = 0;
  private readonly newlines: number[] = [];

  constructor(private readonly text: string, private readonly maxDepth: number) {
    for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) this.newlines.push(i);
  }

  parse(): PvlObject {
    const root = mark.block({} as PvlObject, "root");
    const stack: Frame[] = [{ block: root, kind: "root", name: "", line: 0, keys: new Map() }];
    let statements = 0;
    for (;;) {
      this.skipSpace(true, true);
      const top = stack[stack.length - 1]!;
      if (this.pos >= this.text.length) {
        if (stack.length > 1) {
          throw this.error(
            `${KIND_NAME[top.kind]} '${top.name}' opened on line ${top.line} is not closed: expected ` +
              `End_${KIND_NAME[top.kind]} before the end of the label`,
            this.text.length,
          );
        }
        break;
      }
      const nameAt = this.pos;
      const name = this.readName();
      const lower = name.toLowerCase();
      if (lower === "end") {
        this.skipSpace(false, false);
        if (this.peek() === "=") throw this.error("'End' is reserved (it ends the label) and cannot be a keyword", nameAt);
        if (stack.length > 1) {
          throw this.error(
            `'End' while ${KIND_NAME[top.kind]} '${top.name}' (opened on line ${top.line}) is still open: expected ` +
              `End_${KIND_NAME[top.kind]} first`,
            nameAt,
          );
        }
        break;
      }
      statements++;
      const closes = BLOCK_CLOSE.get(lower);
      if (closes) {
        this.closeBlock(stack, closes, name, nameAt);
        continue;
      }
      this.skipSpace(true, true);
      if (this.peek() !== "=") {
        throw this.error(
          `expected '=' after '${name}', found ${this.describe(this.pos)} (every keyword needs '= value'; ` +
            `quote values that contain spaces)`,
          nameAt,
        );
      }
      this.pos++;
      const opens = BLOCK_OPEN.get(lower);
      if (opens) {
        const label = `the name of the ${KIND_NAME[opens]} on line ${this.lineOf(nameAt)}`;
        const value = this.parseValue(label, 0);
        if (typeof value !== "string" && typeof value !== "number") {
          throw this.error(`expected a plain name for the ${KIND_NAME[opens]}, found a sequence or a value with units`, nameAt);
        }
        const blockName = String(value);
        if (blockName === "") throw this.error(`the ${KIND_NAME[opens]} has an empty name`, nameAt);
        this.endOfStatement(`${KIND_NAME[opens]} = ${blockName}`);
        if (stack.length > this.maxDepth) {
          throw this.error(
            `Objects and Groups are nested deeper than ${this.maxDepth} levels (at ${KIND_NAME[opens]} '${blockName}'): ` +
              `not an ISIS label, or a damaged one`,
            nameAt,
          );
        }
        const block = mark.block({} as PvlObject, opens);
        add(top, blockName, block);
        stack.push({ block, kind: opens, name: blockName, line: this.lineOf(nameAt), keys: new Map() });
        continue;
      }
      const value = this.parseValue(`keyword '${name}'`, 0);
      this.endOfStatement(`the value of '${name}'`);
      add(top, name, value);
    }
    if (statements === 0) throw this.error("the label is empty: no keyword, Object or Group before the end", this.pos);
    return root;
  }

  private closeBlock(stack: Frame[], kind: "object" | "group", word: string, at: number): void {
    const top = stack[stack.length - 1]!;
    this.skipSpace(false, false);
    let named: string | undefined;
    if (this.peek() === "=") {
      this.pos++;
      const v = this.parseValue(`the name after ${word}`, 0);
      named = typeof v === "string" || typeof v === "number" ? String(v) : undefined;
    }
    this.endOfStatement(word);
    if (top.kind === "root") throw this.error(`${word} without an open ${KIND_NAME[kind]}`, at);
    if (top.kind !== kind) {
      throw this.error(
        `${word} cannot close ${KIND_NAME[top.kind]} '${top.name}' (opened on line ${top.line}): expected ` +
          `End_${KIND_NAME[top.kind]}`,
        at,
      );
    }
    if (named !== undefined && named.toLowerCase() !== top.name.toLowerCase()) {
      throw this.error(
        `${word} = ${named} closes ${KIND_NAME[top.kind]} '${top.name}' (opened on line ${top.line}): the names differ`,
        at,
      );
    }
    stack.pop();
  }

  /** A keyword, Object/Group or End word. */
  private readName(): string {
    const start = this.pos;
    const t = this.text;
    while (this.pos < t.length && !NAME_STOP.has(t[this.pos]!)) this.pos++;
    if (this.pos === start) {
      if (t[start] === "\0") throw this.binary(start);
      throw this.error(`expected a keyword, Object, Group or End, found ${this.describe(start)}`, start);
    }
    return t.slice(start, this.pos);
  }

  private parseValue(what: string, depth: number): PvlValue {
    this.skipSpace(true, false);
    const at = this.pos;
    const c = this.text[at];
    let value: PvlScalar | PvlValue[];
    if (c === undefined) throw this.error(`expected a value for ${what}, but the label ends`, at);
    if (c === "(" || c === "{") value = this.parseSequence(what, depth + 1);
    else if (c === '"' || c === "'") value = this.parseQuoted(what);
    else if (c === "\0") throw this.binary(at);
    else if (VALUE_STOP.has(c) || c === "=") {
      throw this.error(`expected a value for ${what}, found ${this.describe(at)}`, at);
    } else value = this.parseUnquoted(what);
    const unit = this.readUnit(what);
    return unit === undefined ? value : { value, unit };
  }

  private parseSequence(what: string, depth: number): PvlValue[] {
    const open = this.text[this.pos]!;
    const close = open === "(" ? ")" : "}";
    const openedAt = this.pos;
    if (depth > this.maxDepth) {
      throw this.error(`sequences in ${what} are nested deeper than ${this.maxDepth} levels`, openedAt);
    }
    this.pos++;
    const items: PvlValue[] = open === "{" ? mark.set([]) : [];
    const where = () => `'${open}' opened on line ${this.lineOf(openedAt)} for ${what}`;
    this.skipSpace(true, true);
    if (this.peek() === close) {
      this.pos++;
      return items;
    }
    for (;;) {
      items.push(this.parseValue(what.startsWith("element ") ? what : `element ${items.length + 1} of ${what}`, depth));
      this.skipSpace(true, true);
      const c = this.peek();
      if (c === ",") {
        this.pos++;
        this.skipSpace(true, true);
        if (this.peek() === close) throw this.error(`a ',' before '${close}' leaves an empty element in ${where()}`, this.pos);
        continue;
      }
      if (c === close) {
        this.pos++;
        return items;
      }
      if (c === undefined) throw this.error(`${where()} is not closed with '${close}'`, openedAt);
      if (c === ")" || c === "}") throw this.error(`${where()} is closed with '${c}' instead of '${close}'`, this.pos);
      throw this.error(
        `expected ',' or '${close}' after element ${items.length} in ${where()}, found ${this.describe(this.pos)}`,
        this.pos,
      );
    }
  }

  /** A quoted string; line breaks join as ISIS joins them (see the file comment). */
  private parseQuoted(what: string): string {
    const t = this.text;
    const q = t[this.pos]!;
    const openedAt = this.pos;
    const endQuote = t.indexOf(q, openedAt + 1);
    if (endQuote < 0) {
      throw this.error(`the string for ${what} opened with ${q} on line ${this.lineOf(openedAt)} is not closed`, openedAt);
    }
    // Built from parts (one slice per line, each trimmed on its own) so a huge string costs linear time.
    const parts: string[] = [];
    this.pos = openedAt + 1;
    for (;;) {
      const newline = t.indexOf("\n", this.pos);
      if (newline < 0 || newline > endQuote) {
        parts.push(t.slice(this.pos, endQuote));
        this.pos = endQuote + 1;
        break;
      }
      const line = t.slice(this.pos, newline).trimEnd();
      if (line.endsWith("-")) parts.push(line.slice(0, -1));
      else if (line !== "") parts.push(line, " ");
      this.pos = newline + 1;
      while (this.pos < endQuote && SPACE.has(t[this.pos]!)) this.pos++;
    }
    const out = parts.join("");
    if (out.includes("\0")) throw this.binary(openedAt);
    return out;
  }

  /** An unquoted value, joined across lines that end in '-'. */
  private parseUnquoted(what: string): PvlScalar {
    const t = this.text;
    const startedAt = this.pos;
    let out = "";
    for (;;) {
      const runStart = this.pos;
      while (this.pos < t.length && !VALUE_STOP.has(t[this.pos]!)) this.pos++;
      out += t.slice(runStart, this.pos);
      if (!out.endsWith("-")) break;
      let j = this.pos;
      while (j < t.length && SPACE.has(t[j]!)) j++;
      if (j < t.length && t[j] !== "\n") break; // a '-' followed by more on the same line is just a character
      const continued = `${what}: '${out}' ends with '-', which continues it on the next line`;
      if (j >= t.length) throw this.error(`${continued}, but the label ends`, this.pos);
      let k = j + 1;
      while (k < t.length && SPACE.has(t[k]!)) k++;
      const nextLine = this.lineOf(j) + 1;
      if (k >= t.length || t[k] === "\n") throw this.error(`${continued}, and line ${nextLine} is empty`, this.pos);
      const rest = t.slice(k, Math.min(t.length, k + 200)).split("\n", 1)[0]!;
      const statement = /^([^\s=(){}<>,"']+)\s*=/.exec(rest) ?? /^(end(?:_object|_group)?)\s*$/i.exec(rest);
      if (statement) {
        throw this.error(
          `${continued}, but line ${nextLine} starts a new statement ('${statement[1]}'): remove the '-' or quote the value`,
          this.pos,
        );
      }
      out = out.slice(0, -1);
      this.pos = k;
    }
    const problem = radixProblem(out);
    if (problem) throw this.error(`invalid number for ${what}: ${problem}`, startedAt);
    return parsePvlNumber(out) ?? out;
  }

  /** `<unit>` after a value, on the same line or the next; undefined when there is none. */
  private readUnit(what: string): string | undefined {
    const save = this.pos;
    this.skipSpace(true, false);
    if (this.peek() !== "<") {
      this.pos = save;
      return undefined;
    }
    const t = this.text;
    const openedAt = this.pos;
    const close = t.indexOf(">", openedAt + 1);
    const newline = t.indexOf("\n", openedAt + 1);
    if (close < 0 || (newline >= 0 && newline < close)) {
      throw this.error(`the unit '<' of ${what} is not closed with '>' on the same line`, openedAt);
    }
    const unit = t.slice(openedAt + 1, close).trim();
    if (unit === "") throw this.error(`empty unit '<>' after ${what}`, openedAt);
    this.pos = close + 1;
    return unit;
  }

  /** After a statement: only spaces and comments may follow on its line. */
  private endOfStatement(what: string): void {
    if (this.skipSpace(false, true)) return;
    const c = this.peek();
    if (c === undefined || c === "\n") return;
    if (c === "\0") throw this.binary(this.pos);
    throw this.error(
      `unexpected ${this.describe(this.pos)} after ${what}: one keyword per line; quote values that contain spaces`,
      this.pos,
    );
  }

  /**
   * Skips spaces (and line breaks when `newlines`), `/* *\/` comments, and — where a statement may start or after a
   * value (`lineComments`) — `#` and `//` comments to the end of the line. A block comment spanning lines counts as a
   * line break.
   */
  private skipSpace(newlines: boolean, lineComments: boolean): boolean {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t[this.pos]!;
      if (SPACE.has(c) || (newlines && c === "\n")) {
        this.pos++;
      } else if (c === "/" && t[this.pos + 1] === "*") {
        const end = t.indexOf("*/", this.pos + 2);
        if (end < 0) throw this.error("a comment opened with /* is not closed with */", this.pos);
        if (!newlines && t.lastIndexOf("\n", end) > this.pos) {
          // `A = 1 /* comment …\n … */`: the statement ended with the comment's line break.
          this.pos = end + 2;
          return true;
        }
        this.pos = end + 2;
      } else if (lineComments && (c === "#" || (c === "/" && t[this.pos + 1] === "/"))) {
        const end = t.indexOf("\n", this.pos);
        this.pos = end < 0 ? t.length : end;
      } else {
        return false;
      }
    }
    return false;
  }

  private peek(): string | undefined {
    return this.text[this.pos];
  }

  private lineOf(pos: number): number {
    let lo = 0;
    let hi = this.newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.newlines[mid]! < pos) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  }

  private describe(pos: number): string {
    const c = this.text[pos];
    if (c === undefined) return "the end of the label";
    if (c === "\n") return "the end of the line";
    const snippet = this.text.slice(pos, pos + 24).split("\n", 1)[0]!;
    return `'${snippet}${snippet.length === 24 ? "…" : ""}'`;
  }

  private error(detail: string, pos: number): PvlError {
    return new PvlError(detail, this.lineOf(pos));
  }

  private binary(pos: number): PvlError {
    return this.error(
      "binary data (a NUL byte) before the label's End: not a PVL label, or one that ends without End",
      pos,
    );
  }
}

/** Adds a keyword or block to a block; a repeated name (any case) collects all occurrences in order. */
function add(frame: Frame, name: string, entry: PvlEntry): void {
  const lower = name.toLowerCase();
  const key = frame.keys.get(lower);
  if (key === undefined) {
    frame.keys.set(lower, name);
    define(frame.block, name, entry);
    return;
  }
  const current = frame.block[key]!;
  if (isRepeated(current)) (current as PvlEntry[]).push(entry);
  else define(frame.block, key, mark.repeated<PvlEntry[]>([current, entry]));
}

/** Own, enumerable data properties even for names such as `__proto__` (an assignment would change the prototype). */
function define(block: PvlObject, name: string, entry: PvlEntry): void {
  Object.defineProperty(block, name, { value: entry, enumerable: true, writable: true, configurable: true });
}
