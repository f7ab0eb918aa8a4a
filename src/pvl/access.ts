/**
 * Case-insensitive lookups in a parsed label, as ISIS looks keywords up (`samples`, `Samples` and `SAMPLES` are one
 * keyword), with errors that say which path was asked for.
 */
import { PvlError } from "./error";
import { isPvlBlock, isPvlQuantity, isRepeated, type PvlEntry, type PvlObject, type PvlScalar, type PvlValue } from "./types";

/** The property of `block` whose name equals `name` ignoring case, or undefined. */
export function pvlFind(block: PvlObject, name: string): PvlEntry | undefined {
  if (Object.prototype.hasOwnProperty.call(block, name)) return block[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(block)) if (key.toLowerCase() === lower) return block[key];
  return undefined;
}

/** All occurrences of a name in a block (none, one, or each of a repeated name), in file order. */
export function pvlAll(block: PvlObject, name: string): PvlEntry[] {
  const entry = pvlFind(block, name);
  if (entry === undefined) return [];
  return isRepeated(entry) ? [...entry] : [entry];
}

/**
 * Follows a path of names (`pvlGet(label, "IsisCube", "Core", "Dimensions", "Samples")`), ignoring case. Undefined
 * when a name is missing; a PvlError when a step on the way is not a block or is repeated (ambiguous: use
 * {@link pvlAll} for that step).
 */
export function pvlGet(block: PvlObject, ...path: string[]): PvlEntry | undefined {
  let current: PvlEntry = block;
  for (let i = 0; i < path.length; i++) {
    if (!isPvlBlock(current)) {
      throw new PvlError(`${path.slice(0, i).join(" > ")} is a keyword, not an Object or Group, so it has no ${path[i]}`);
    }
    const next = pvlFind(current, path[i]!);
    if (next === undefined) return undefined;
    if (isRepeated(next) && i < path.length - 1) {
      throw new PvlError(`${path.slice(0, i + 1).join(" > ")} occurs ${next.length} times: pick one with pvlAll()`);
    }
    current = next;
  }
  return current;
}

/** The block at a path, or undefined when it is missing; a PvlError when the path names a keyword. */
export function pvlBlock(block: PvlObject, ...path: string[]): PvlObject | undefined {
  const entry = pvlGet(block, ...path);
  if (entry === undefined) return undefined;
  if (isRepeated(entry)) throw new PvlError(`${path.join(" > ")} occurs ${entry.length} times: pick one with pvlAll()`);
  if (!isPvlBlock(entry)) throw new PvlError(`${path.join(" > ")} is a keyword, not an Object or Group`);
  return entry;
}

/** A keyword's value without its unit (`115978 <meters>` → 115978). */
export function pvlValue(entry: PvlEntry): PvlValue | PvlObject | PvlEntry[] {
  return isPvlQuantity(entry) ? entry.value : entry;
}

/** A keyword's unit, if it has one. */
export function pvlUnit(entry: PvlEntry | undefined): string | undefined {
  return isPvlQuantity(entry) ? entry.unit : undefined;
}

/** A keyword's single value (number or string), units dropped; undefined for sequences, blocks and repeats. */
export function pvlScalar(entry: PvlEntry | undefined): PvlScalar | undefined {
  if (entry === undefined) return undefined;
  const v = pvlValue(entry);
  return typeof v === "string" || typeof v === "number" ? v : undefined;
}
