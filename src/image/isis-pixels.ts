/**
 * ISIS pixel types and special pixels, and the conversion of raw cube bytes to our float32 convention.
 *
 * Values from ISIS's SpecialPixel.h and the read path of CubeIoHandler::writeIntoDouble (ISIS3), which is what ISIS
 * itself does when a program reads a cube:
 *
 * | Type         | bytes | special (→ NaN)                                                   | value            |
 * | ------------ | ----- | ----------------------------------------------------------------- | ---------------- |
 * | UnsignedByte | 1     | 0 (NULL, LRS, LIS), 255 (HRS, HIS)                                | raw·mult + base  |
 * | SignedWord   | 2     | below VALID_MIN2 = −32752: NULL −32768, LRS −32767, LIS −32766,   | raw·mult + base  |
 * |              |       | HIS −32765, HRS −32764, and −32763..−32753 (read as LRS)           |                  |
 * | UnsignedWord | 2     | below VALID_MINU2 = 3 (NULL 0, LRS 1, LIS 2) and above VALID_MAXU2 | raw·mult + base  |
 * |              |       | = 65522 (HIS 65534, HRS 65535, the rest read as LRS)              |                  |
 * | Real         | 4     | below VALID_MIN4 (bits 0xFF7FFFFA): NULL 0xFF7FFFFB, LRS …FC,     | raw (no scaling) |
 * |              |       | LIS …FD, HIS …FE, HRS …FF, −Infinity; NaN stays NaN               |                  |
 *
 * Real pixels are not scaled: ISIS ignores Base and Multiplier for Real cubes (writeIntoDouble returns the raw float),
 * so a Real cube whose label has Multiplier ≠ 1 reads in ISIS as its raw values, and so it does here. (GDAL reports
 * Base/Multiplier as offset/scale metadata for every type but does not apply them either.) Scaled integer values are
 * computed in double precision, as ISIS does, then stored as float32.
 */

export type IsisPixelType = "UnsignedByte" | "SignedWord" | "UnsignedWord" | "Real";

export const ISIS_PIXEL_TYPES: readonly IsisPixelType[] = ["UnsignedByte", "SignedWord", "UnsignedWord", "Real"];

export const BYTES_PER_PIXEL: Record<IsisPixelType, number> = { UnsignedByte: 1, SignedWord: 2, UnsignedWord: 2, Real: 4 };

function floatFromBits(bits: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, bits);
  return view.getFloat32(0);
}

/** ISIS special pixel values, as raw values of each type (Real: as the float32 the bit pattern spells). */
export const ISIS_SPECIAL = {
  Real: {
    VALID_MIN: floatFromBits(0xff7ffffa),
    NULL: floatFromBits(0xff7ffffb),
    LRS: floatFromBits(0xff7ffffc),
    LIS: floatFromBits(0xff7ffffd),
    HIS: floatFromBits(0xff7ffffe),
    HRS: floatFromBits(0xff7fffff),
  },
  SignedWord: { VALID_MIN: -32752, NULL: -32768, LRS: -32767, LIS: -32766, HIS: -32765, HRS: -32764 },
  UnsignedWord: { VALID_MIN: 3, VALID_MAX: 65522, NULL: 0, LRS: 1, LIS: 2, HIS: 65534, HRS: 65535 },
  UnsignedByte: { VALID_MIN: 1, VALID_MAX: 254, NULL: 0, HRS: 255 },
} as const;

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * A typed view of raw pixels in host byte order. `bytes` is swapped in place when the file's order differs from the
 * host's (the caller owns the buffer), and copied first only when its offset is not aligned for the type.
 */
export function pixelView(
  bytes: Uint8Array,
  type: IsisPixelType,
  littleEndian: boolean,
): Uint8Array | Int16Array | Uint16Array | Float32Array {
  const size = BYTES_PER_PIXEL[type];
  if (size === 1) return bytes;
  let b = bytes;
  if (b.byteOffset % size !== 0) b = b.slice();
  const count = Math.floor(b.byteLength / size);
  if (littleEndian !== HOST_LITTLE_ENDIAN) {
    const buf = Buffer.from(b.buffer, b.byteOffset, count * size);
    if (size === 2) buf.swap16();
    else buf.swap32();
  }
  switch (type) {
    case "SignedWord":
      return new Int16Array(b.buffer, b.byteOffset, count);
    case "UnsignedWord":
      return new Uint16Array(b.buffer, b.byteOffset, count);
    default:
      return new Float32Array(b.buffer, b.byteOffset, count);
  }
}

/** How raw values of one cube become float32 values with NaN for special pixels. */
export interface PixelDecoder {
  /** copies `count` pixels from `src[from…]` to `out[to…]`, converting */
  (src: ArrayLike<number>, from: number, out: Float32Array, to: number, count: number): void;
}

export function pixelDecoder(type: IsisPixelType, base: number, multiplier: number): PixelDecoder {
  const scaled = base !== 0 || multiplier !== 1;
  switch (type) {
    case "Real": {
      const min = ISIS_SPECIAL.Real.VALID_MIN;
      return (src, from, out, to, count) => {
        for (let i = 0; i < count; i++) {
          const v = src[from + i]!;
          out[to + i] = v < min ? NaN : v;
        }
      };
    }
    case "SignedWord": {
      const min = ISIS_SPECIAL.SignedWord.VALID_MIN;
      return (src, from, out, to, count) => {
        for (let i = 0; i < count; i++) {
          const v = src[from + i]!;
          out[to + i] = v < min ? NaN : scaled ? v * multiplier + base : v;
        }
      };
    }
    case "UnsignedWord": {
      const { VALID_MIN: min, VALID_MAX: max } = ISIS_SPECIAL.UnsignedWord;
      return (src, from, out, to, count) => {
        for (let i = 0; i < count; i++) {
          const v = src[from + i]!;
          out[to + i] = v < min || v > max ? NaN : scaled ? v * multiplier + base : v;
        }
      };
    }
    case "UnsignedByte":
      return (src, from, out, to, count) => {
        for (let i = 0; i < count; i++) {
          const v = src[from + i]!;
          out[to + i] = v === 0 || v === 255 ? NaN : scaled ? v * multiplier + base : v;
        }
      };
  }
}
