/**
 * The PVL label of an ISIS binary control network: written as ISIS's Pvl classes write it, and a small
 * reader for what such a label contains (objects, groups, scalar and array keywords).
 *
 * Layout written (ISIS ControlNetVersioner::write / ControlNetFileV0002::Write, checked byte for byte
 * against ISIS-written files in test/fixtures/controlnet/):
 *
 *     Object = ProtoBuffer
 *       Object = Core
 *         HeaderStartByte = 65536
 *         HeaderBytes     = 205
 *         ...
 *       End_Object
 *
 *       # This group is for informational purposes only
 *       Group = ControlNetworkInfo
 *         NetworkId        = THM_IMG_NET
 *         ...
 *       End_Group
 *     End_Object
 *     End
 *
 * Indent 2 per level, names padded to the longest name of their container, `" = "`, values quoted and
 * wrapped at 80 columns by ISIS's rules (PvlFormat::addQuotes, PvlKeyword::writeWithWrap), "Null" for
 * an empty value.
 */

export type PvlValue = string | number;

export interface PvlKeyword {
  name: string;
  value: PvlValue;
}

const CHAR_LIMIT = 80;
const EOL = "\n";

/**
 * ISIS's quoting rule (PvlFormat::addQuotes), made safe for values that contain quote characters:
 * ISIS would emit those unbalanced, which its own reader then rejects; we pick the other quote kind.
 */
export function formatPvlValue(raw: PvlValue): string {
  if (typeof raw === "number") return String(raw);
  // ISIS drops CR/LF when writing; other control characters would confuse any PVL reader.
  let val = raw.replace(/[\r\n]/g, "").replace(/[\u0000-\u001f\u007f]/g, " ");
  if (val.length === 0) return "Null";
  let needQuotes = /[ (){},=]/.test(val) || val.endsWith("-");
  if (val.startsWith("(") && val.indexOf(")") === val.length - 1) needQuotes = /[ {},=]/.test(val);
  if (val.startsWith("{") && val.indexOf("}") === val.length - 1) needQuotes = /[ (),=]/.test(val);
  // Beyond ISIS: characters a PVL reader treats as comments or units only when unquoted.
  if (/#|\/\*|\/\/|[<>]/.test(val)) needQuotes = true;
  const hasDouble = val.includes('"');
  const hasSingle = val.includes("'");
  if (hasDouble && hasSingle) val = val.replace(/"/g, "'");
  if (hasDouble && !hasSingle) return `'${val}'`;
  if (hasDouble || hasSingle || needQuotes) return `"${val}"`;
  return val;
}

/** One keyword line (or lines, when wrapped), as PvlKeyword's operator<< writes it. */
function formatKeyword(kw: PvlKeyword, indent: number, width: number): string {
  const head = " ".repeat(indent) + kw.name + " ".repeat(Math.max(0, width - kw.name.length)) + " = ";
  const startColumn = head.length;
  const text = formatPvlValue(kw.value);
  const spaceForText = CHAR_LIMIT - 1 - EOL.length - startColumn;
  const continuationColumn = startColumn + (text.startsWith("(") || text.startsWith('"') || text.startsWith("'") ? 1 : 0);
  let out = head;
  let remaining = text;
  while (remaining.length > 0) {
    let cut: number;
    let hyphen = false;
    if (remaining.length <= spaceForText) {
      cut = remaining.length;
    } else {
      // The last space within the limit that is not preceded by '-' (a reader would join across it).
      cut = -1;
      for (let pos = spaceForText; pos >= 1; pos--) {
        if (remaining[pos] === " " && remaining[pos - 1] !== "-") {
          cut = pos;
          break;
        }
      }
      if (cut <= 0) {
        // No space: break the word with a hyphen, never between the two characters of "//".
        cut = remaining.slice(spaceForText - 1, spaceForText + 1) === "//" ? spaceForText - 2 : spaceForText - 1;
        hyphen = true;
      }
    }
    out += remaining.slice(0, cut) + (hyphen ? "-" : "");
    remaining = remaining.slice(cut);
    if (remaining.length > 0) {
      out += EOL + " ".repeat(continuationColumn);
      if (remaining[0] === " ") remaining = remaining.slice(1);
    }
  }
  return out + EOL;
}

function formatKeywords(keywords: PvlKeyword[], indent: number): string {
  const width = Math.max(0, ...keywords.map((k) => k.name.length));
  return keywords.map((k) => formatKeyword(k, indent, width)).join("");
}

export interface ProtoBufferLabel {
  headerStartByte: number;
  headerBytes: number;
  pointsStartByte: number;
  pointsBytes: number;
  networkId: string;
  targetName: string;
  userName: string;
  created: string;
  lastModified: string;
  description: string;
  numberOfPoints: number;
  numberOfMeasures: number;
  version: number;
}

/** The label text exactly as ISIS writes it, ending with "End\n". */
export function formatProtoBufferLabel(l: ProtoBufferLabel): string {
  const core: PvlKeyword[] = [
    { name: "HeaderStartByte", value: l.headerStartByte },
    { name: "HeaderBytes", value: l.headerBytes },
    { name: "PointsStartByte", value: l.pointsStartByte },
    { name: "PointsBytes", value: l.pointsBytes },
  ];
  const info: PvlKeyword[] = [
    { name: "NetworkId", value: l.networkId },
    { name: "TargetName", value: l.targetName },
    { name: "UserName", value: l.userName },
    { name: "Created", value: l.created },
    { name: "LastModified", value: l.lastModified },
    { name: "Description", value: l.description },
    { name: "NumberOfPoints", value: l.numberOfPoints },
    { name: "NumberOfMeasures", value: l.numberOfMeasures },
    { name: "Version", value: l.version },
  ];
  return (
    "Object = ProtoBuffer" + EOL +
    "  Object = Core" + EOL +
    formatKeywords(core, 4) +
    "  End_Object" + EOL +
    EOL +
    "  # This group is for informational purposes only" + EOL +
    "  Group = ControlNetworkInfo" + EOL +
    formatKeywords(info, 4) +
    "  End_Group" + EOL +
    "End_Object" + EOL +
    "End" + EOL
  );
}

// ---------------------------------------------------------------------------------------------------
// Reading

export interface PvlContainer {
  kind: "root" | "object" | "group";
  name: string;
  /** Keyword values by lower-cased name (PVL names are case-insensitive); arrays as string[]. */
  keywords: Map<string, string | string[]>;
  objects: PvlContainer[];
  groups: PvlContainer[];
}

export class PvlSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(`${message} (label line ${line})`);
    this.name = "PvlSyntaxError";
  }
}

type Token =
  | { kind: "word"; text: string; line: number }
  | { kind: "quoted"; text: string; line: number }
  | { kind: "units"; text: string; line: number }
  | { kind: "punct"; text: "=" | "(" | ")" | "," | "{" | "}"; line: number };

/** PVL white space is ASCII only: a Latin-1 no-break space (0xA0) in an unquoted ISIS value is part of it. */
const SPACE = /[ \t\r\n\f\v]/;
const WORD_END = /[ \t\r\n\f\v=(){},<>"'#]/;

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    if (c === "\n") {
      line++;
      i++;
      continue;
    }
    if (SPACE.test(c)) {
      i++;
      continue;
    }
    if (c === "#" || (c === "/" && src[i + 1] === "/")) {
      while (i < n && src[i] !== "\n") i++;
      continue;
    }
    if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      if (end < 0) throw new PvlSyntaxError("unclosed /* comment", line);
      for (let k = i; k < end; k++) if (src[k] === "\n") line++;
      i = end + 2;
      continue;
    }
    if (c === "=" || c === "(" || c === ")" || c === "," || c === "{" || c === "}") {
      tokens.push({ kind: "punct", text: c, line });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      const end = src.indexOf(c, i + 1);
      if (end < 0) throw new PvlSyntaxError(`unclosed ${c} quote`, startLine);
      const body = src.slice(i + 1, end);
      line += (body.match(/\n/g) ?? []).length;
      tokens.push({ kind: "quoted", text: joinQuotedLines(body), line: startLine });
      i = end + 1;
      continue;
    }
    if (c === "<") {
      const end = src.indexOf(">", i + 1);
      if (end < 0) throw new PvlSyntaxError("unclosed <units>", line);
      tokens.push({ kind: "units", text: src.slice(i + 1, end).trim(), line });
      i = end + 1;
      continue;
    }
    if (c === ">") throw new PvlSyntaxError("unexpected '>'", line);
    // An unquoted word; ISIS quotes values that end in '-', so a trailing '-' before a line break
    // is a word broken across lines.
    const startLine = line;
    let text = "";
    for (;;) {
      let j = i;
      while (j < n && !WORD_END.test(src[j])) j++;
      if (j === i && text.length === 0) {
        throw new PvlSyntaxError(`unexpected character U+${src.charCodeAt(i).toString(16).padStart(4, "0")}`, line);
      }
      text += src.slice(i, j);
      i = j;
      let k = j;
      while (k < n && (src[k] === " " || src[k] === "\t" || src[k] === "\r")) k++;
      if (text.endsWith("-") && src[k] === "\n") {
        text = text.slice(0, -1);
        line++;
        k++;
        while (k < n && SPACE.test(src[k])) {
          if (src[k] === "\n") line++;
          k++;
        }
        i = k;
        continue;
      }
      break;
    }
    tokens.push({ kind: "word", text, line: startLine });
  }
  return tokens;
}

/** PDS rule for text broken across lines: line break and surrounding blanks → one space, or nothing after '-'. */
function joinQuotedLines(body: string): string {
  if (!body.includes("\n")) return body;
  const lines = body.split("\n");
  let out = lines[0].replace(/[ \t\r]+$/, "");
  for (let k = 1; k < lines.length; k++) {
    const next = lines[k].replace(/^[ \t]+/, "").replace(/[ \t\r]+$/, "");
    if (out.endsWith("-")) out = out.slice(0, -1) + next;
    else out += " " + next;
  }
  return out;
}

function newContainer(kind: PvlContainer["kind"], name: string): PvlContainer {
  return { kind, name, keywords: new Map(), objects: [], groups: [] };
}

/** Parses a PVL label into nested containers. Stops at `End`. */
export function parsePvl(src: string): PvlContainer {
  const tokens = tokenize(src);
  const root = newContainer("root", "");
  const stack: PvlContainer[] = [root];
  let t = 0;
  const next = () => tokens[t++];
  const peek = () => tokens[t];
  const scalar = (): string => {
    const tok = next();
    if (!tok) throw new PvlSyntaxError("value missing at the end of the label", tokens[tokens.length - 1]?.line ?? 1);
    if (tok.kind !== "word" && tok.kind !== "quoted") throw new PvlSyntaxError(`expected a value, found '${tok.text}'`, tok.line);
    if (peek()?.kind === "units") next();
    return tok.text;
  };
  while (t < tokens.length) {
    const tok = next();
    if (tok.kind !== "word") throw new PvlSyntaxError(`expected a keyword name, found '${tok.text}'`, tok.line);
    const name = tok.text;
    const lower = name.toLowerCase();
    const top = stack[stack.length - 1];
    if (lower === "end") return root;
    if (lower === "end_object" || lower === "end_group") {
      const want = lower === "end_object" ? "object" : "group";
      if (top.kind !== want) throw new PvlSyntaxError(`${name} without a matching ${want === "object" ? "Object" : "Group"}`, tok.line);
      stack.pop();
      if (peek()?.kind === "punct" && peek()?.text === "=") {
        next();
        scalar();
      }
      continue;
    }
    const eq = next();
    if (!eq || eq.kind !== "punct" || eq.text !== "=") throw new PvlSyntaxError(`expected '=' after ${name}`, tok.line);
    if (lower === "object" || lower === "group") {
      const child = newContainer(lower, scalar());
      (lower === "object" ? top.objects : top.groups).push(child);
      stack.push(child);
      continue;
    }
    const first = peek();
    if (first?.kind === "punct" && (first.text === "(" || first.text === "{")) {
      const close = first.text === "(" ? ")" : "}";
      next();
      const values: string[] = [];
      for (;;) {
        const p = peek();
        if (!p) throw new PvlSyntaxError(`unclosed array in ${name}`, first.line);
        if (p.kind === "punct" && p.text === close) {
          next();
          break;
        }
        values.push(scalar());
        const sep = peek();
        if (sep?.kind === "punct" && sep.text === ",") next();
      }
      if (peek()?.kind === "units") next();
      top.keywords.set(lower, values);
    } else {
      top.keywords.set(lower, scalar());
    }
  }
  throw new PvlSyntaxError("no End statement", tokens[tokens.length - 1]?.line ?? 1);
}

export function findObject(c: PvlContainer, name: string): PvlContainer | undefined {
  return c.objects.find((o) => o.name.toLowerCase() === name.toLowerCase());
}

export function findGroup(c: PvlContainer, name: string): PvlContainer | undefined {
  return c.groups.find((g) => g.name.toLowerCase() === name.toLowerCase());
}
