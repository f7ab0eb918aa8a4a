/**
 * PVL numbers. An unquoted value becomes a JavaScript number only when all of it is a number in PVL's grammar, and only
 * when the number survives the conversion: an integer beyond 2^53 or a real that overflows to Infinity stays the
 * string it was, so no digit is silently lost (ISIS keeps every value as text and converts on use, so it never loses
 * one either).
 */

const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const RADIX = /^([+-]?)(\d+)#([0-9A-Za-z]+)#$/;
const DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

/** Why a radix-looking token is not a number, or undefined if it is fine or not radix at all. */
export function radixProblem(token: string): string | undefined {
  const m = RADIX.exec(token);
  if (!m) return undefined;
  const base = Number(m[2]);
  if (base < 2 || base > 16) return `radix ${base} in '${token}' is not between 2 and 16`;
  for (const ch of m[3]!.toLowerCase()) {
    if (DIGITS.indexOf(ch) >= base) return `digit '${ch}' in '${token}' is not a base-${base} digit`;
  }
  return undefined;
}

/**
 * The number an unquoted token spells, or undefined when it is not (entirely) a number or would lose precision.
 * `16#FF7FFFFB#` → 4286578683, `2#1010#` → 10, `-8#17#` → -15; call {@link radixProblem} first for a radix token.
 */
export function parsePvlNumber(token: string): number | undefined {
  const r = RADIX.exec(token);
  if (r) {
    if (radixProblem(token)) return undefined;
    const magnitude = parseInt(r[3]!, Number(r[2]));
    const n = r[1] === "-" ? -magnitude : magnitude;
    return Number.isSafeInteger(n) ? n : undefined;
  }
  if (!DECIMAL.test(token)) return undefined;
  const n = Number(token);
  if (!Number.isFinite(n)) return undefined;
  if (INTEGER.test(token) && !Number.isSafeInteger(n)) return undefined;
  return n;
}
