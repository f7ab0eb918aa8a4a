/** PVL (ISIS labels): parse text, read a cube's label, look keywords up. */
export { parsePvl, DEFAULT_MAX_DEPTH } from "./parse";
export type { ParsePvlOptions } from "./parse";
export { readCubeLabel, readLabelText, DEFAULT_MAX_LABEL_BYTES } from "./read-label";
export type { LabelSource, ReadLabelOptions } from "./read-label";
export { PvlError } from "./error";
export { pvlFind, pvlAll, pvlGet, pvlBlock, pvlValue, pvlUnit, pvlScalar } from "./access";
export { isPvlBlock, isPvlQuantity, isPvlSet, isRepeated, pvlKind } from "./types";
export type { PvlObject, PvlEntry, PvlValue, PvlScalar, PvlQuantity, PvlBlockKind } from "./types";
export { parsePvlNumber } from "./numbers";
export { decodeLabel } from "./text";
