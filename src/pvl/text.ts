/**
 * Label bytes → text. Labels are ASCII in practice; we accept UTF-8 and refuse anything else with the byte offset
 * and line of the first bad byte, instead of decoding it to U+FFFD and parsing a label that is not what the file says.
 */
import { PvlError } from "./error";

const decoder = new TextDecoder("utf-8", { fatal: true });

/** The offset of the first byte that is not part of a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  const n = bytes.length;
  let i = 0;
  while (i < n) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) (need = 1), (min = 0x80);
    else if (b >= 0xe0 && b <= 0xef) (need = 2), (min = 0x800);
    else if (b >= 0xf0 && b <= 0xf4) (need = 3), (min = 0x10000);
    else return i;
    if (i + need >= n) return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return -1;
}

/** Decodes label bytes as UTF-8; a PvlError naming the line and byte offset of the first byte that is not UTF-8. */
export function decodeLabel(bytes: Uint8Array, source?: string): string {
  try {
    return decoder.decode(bytes);
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line++;
    const hex = at >= 0 ? bytes[at]!.toString(16).toUpperCase().padStart(2, "0") : "??";
    throw new PvlError(
      `byte 0x${hex} at offset ${at} is not UTF-8 text: not a PVL label, or one in another encoding (re-save it as ` +
        `ASCII/UTF-8)`,
      line,
      source,
    );
  }
}
