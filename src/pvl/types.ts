/**
 * What `parsePvl` returns: plain objects, arrays, strings and numbers, so a label can be logged, compared with
 * `toEqual`, or serialised with `JSON.stringify` as is.
 *
 * The representation, stated once:
 *
 * - An `Object = X … End_Object` or `Group = X … End_Group` block is a plain object stored under its name X in the
 *   enclosing block; the file itself is the root block. Keywords are properties of their block.
 * - A keyword's value is a `number` (integers, reals, exponents, radix integers such as `16#FF7FFFFB#`), a `string`
 *   (everything else: unquoted symbols, quoted text, dates, `TRUE`, `NULL`, `N/A` — ISIS has no boolean, date or
 *   null type, and guessing one would change meaning), an array (a `(a, b)` sequence or a `{a, b}` set; nested
 *   sequences nest), or a {@link PvlQuantity} `{ value, unit }` when the value carries `<unit>`.
 * - A name used more than once in the same block (several `Group = Field`, a keyword written twice) holds an array
 *   of all its occurrences in file order. Such an array is marked so that {@link isRepeated} tells it apart from a
 *   keyword whose single value is a sequence, and `pvlAll` in access.ts always returns the occurrences.
 * - Names are case-insensitive, as in ISIS: a later `CORE` joins an earlier `Core` (the first spelling is kept), and
 *   the lookups in access.ts ignore case. Property access such as `label.IsisCube.Core` is case-sensitive JavaScript.
 *
 * Which block is an Object and which a Group, and which arrays are sets or repeats, is recorded beside the values (never as
 * extra properties, which could collide with keywords): {@link pvlKind}, {@link isPvlSet}.
 */

export type PvlScalar = string | number;

/** A value with units, e.g. `SpacecraftAltitude = 115978 <meters>` → `{ value: 115978, unit: "meters" }`. */
export interface PvlQuantity {
  value: PvlScalar | PvlValue[];
  unit: string;
}

export type PvlValue = PvlScalar | PvlQuantity | PvlValue[];

/** A block: the label root, an Object or a Group. */
export interface PvlObject {
  [name: string]: PvlEntry;
}

/** What a name in a block holds: a keyword value, a nested block, or (repeated name) all occurrences in order. */
export type PvlEntry = PvlValue | PvlObject | PvlEntry[];

export type PvlBlockKind = "root" | "object" | "group";

const blockKinds = new WeakMap<object, PvlBlockKind>();
const sets = new WeakSet<object>();
const repeats = new WeakSet<object>();

/** @internal used by the parser to record what it built. */
export const mark = {
  block<T extends object>(o: T, kind: PvlBlockKind): T {
    blockKinds.set(o, kind);
    return o;
  },
  set<T extends object>(o: T): T {
    sets.add(o);
    return o;
  },
  repeated<T extends object>(o: T): T {
    repeats.add(o);
    return o;
  },
};

/** Whether the entry is a block (root, Object or Group) that parsePvl built, as opposed to a keyword value. */
export function isPvlBlock(entry: unknown): entry is PvlObject {
  return typeof entry === "object" && entry !== null && blockKinds.has(entry);
}

/** "root", "object" or "group" for a block that parsePvl built; undefined for anything else. */
export function pvlKind(entry: unknown): PvlBlockKind | undefined {
  return typeof entry === "object" && entry !== null ? blockKinds.get(entry) : undefined;
}

/** Whether the array came from a `{a, b}` set rather than a `(a, b)` sequence. */
export function isPvlSet(entry: unknown): boolean {
  return Array.isArray(entry) && sets.has(entry);
}

/** Whether the array holds the occurrences of a repeated name (rather than one keyword's sequence value). */
export function isRepeated(entry: unknown): entry is PvlEntry[] {
  return Array.isArray(entry) && repeats.has(entry);
}

/**
 * Whether the entry is a value with units. Every non-array object parsePvl puts in a value position is one; blocks
 * are told apart by the mark parsePvl records for them (a Group may well have keywords named `value` and `unit`).
 */
export function isPvlQuantity(entry: unknown): entry is PvlQuantity {
  return (
    typeof entry === "object" && entry !== null && !Array.isArray(entry) && !blockKinds.has(entry) && "unit" in entry &&
    "value" in entry
  );
}
