/**
 * Reading ISIS binary control networks, versions 2 and 5 (layouts in write.ts), as ISIS's
 * ControlNetVersioner::readProtobufV0002 / readProtobufV0005 do, but checking every size against the file:
 * a truncated file, a label that claims more bytes than the file has, or sizes that disagree with each other
 * are errors that name the file, never a crash or an allocation the file's real size does not justify.
 *
 * Not read: ISIS's PVL text networks (`Object = ControlNetwork`; convert them with ISIS's `cnetpvl2bin`)
 * and protobuf version 1 (ISIS 3.2 era; any current ISIS application that opens and saves the network
 * upgrades it). Point log data (`log`, field 24 of a point, never written by ISIS) and measure log
 * entries without a numeric type and value are skipped.
 */
import * as fs from "node:fs";
import {
  APRIORI_SOURCES,
  ControlNetError,
  MEASURE_LOG_TYPES,
  MEASURE_TYPES,
  POINT_TYPE_FROM_CODE,
  type AprioriSource,
  type ControlMeasure,
  type ControlNetwork,
  type ControlPoint,
  type Covariance,
  type MeasureLogEntry,
  type SurfacePoint,
} from "./model";
import { isisProto } from "./proto";
import { findGroup, findObject, parsePvl, PvlSyntaxError, type PvlContainer } from "./pvl";

export interface ReadControlNetworkOptions {
  /**
   * Strings must be UTF-8 (protobuf's rule). ISIS itself writes them as Latin-1 (QString::toLatin1), so a
   * network with a non-ASCII character that went through ISIS has invalid UTF-8: 'error' (default) rejects
   * it naming the field, 'latin1' decodes such a string as Latin-1.
   */
  invalidUtf8?: "error" | "latin1";
}

/** How far into the file the label may extend (ISIS uses 65536 bytes). */
const MAX_LABEL_BYTES = 1 << 20;

/** Where the parts of the file are, from its label. */
export interface ControlNetLayout {
  version: 2 | 5;
  labelBytes: number;
  headerStartByte: number;
  headerBytes: number;
  pointsStartByte: number;
  pointsBytes: number;
  numberOfPoints?: number;
  numberOfMeasures?: number;
}

function fail(file: string, msg: string): never {
  throw new ControlNetError(`${file}: ${msg}`, file);
}

function hexPreview(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
}

function intKeyword(file: string, c: PvlContainer, where: string, name: string, required: boolean): number | undefined {
  const v = c.keywords.get(name.toLowerCase());
  if (v === undefined) {
    if (required) fail(file, `the label has no ${name} in ${where}; this is not a complete ISIS binary control network`);
    return undefined;
  }
  if (typeof v !== "string" || !/^\d{1,15}$/.test(v)) {
    fail(file, `the label's ${name} = ${JSON.stringify(v)} is not a byte count; the label is corrupt`);
  }
  return Number(v);
}

/** Parses and checks the label against the file size. `chunk` is the start of the file. */
export function parseControlNetLayout(chunk: Uint8Array, fileSize: number, file: string): ControlNetLayout {
  if (fileSize === 0) fail(file, "the file is empty");
  let labelEnd = chunk.indexOf(0);
  if (labelEnd < 0) labelEnd = chunk.length;
  const labelBytes = chunk.subarray(0, labelEnd);
  // Only the label's structure and numbers are used (the strings come from the protobuf header), and ISIS
  // writes the label's strings as Latin-1: text that is not UTF-8 is read as Latin-1.
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(labelBytes);
  } catch {
    text = Buffer.from(labelBytes).toString("latin1");
  }
  const head = text.replace(/^(\s|#[^\n]*\n|\/\*[\s\S]*?\*\/)*/, "");
  if (!/^object\s*=/i.test(head) || /[\u0000-\u0008\u000e-\u001f]/.test(text)) {
    fail(file, `not an ISIS control network: it does not start with a PVL label ("Object = ProtoBuffer"); first bytes ${hexPreview(chunk)}`);
  }
  let root: PvlContainer;
  try {
    root = parsePvl(text);
  } catch (err) {
    if (err instanceof PvlSyntaxError) fail(file, `the PVL label is malformed: ${err.message}`);
    throw err;
  }
  if (findObject(root, "ControlNetwork")) {
    fail(file, "this is an ISIS PVL (text) control network, which is not read here; convert it with ISIS: cnetpvl2bin from=<this file> to=<new .net>");
  }
  if (findObject(root, "IsisCube")) fail(file, "this is an ISIS cube, not a control network");
  const proto = findObject(root, "ProtoBuffer");
  if (!proto) fail(file, `the label has no ProtoBuffer object (found: ${root.objects.map((o) => o.name).join(", ") || "nothing"}); this is not an ISIS binary control network`);
  const core = findObject(proto, "Core");
  if (!core) fail(file, "the label's ProtoBuffer object has no Core object; this is not a complete ISIS binary control network");
  const info = findGroup(proto, "ControlNetworkInfo");
  const headerStartByte = intKeyword(file, core, "Core", "HeaderStartByte", true)!;
  const headerBytes = intKeyword(file, core, "Core", "HeaderBytes", true)!;
  const pointsStartByte = intKeyword(file, core, "Core", "PointsStartByte", true)!;
  const pointsBytes = intKeyword(file, core, "Core", "PointsBytes", true)!;
  let version = 1;
  let numberOfPoints: number | undefined;
  let numberOfMeasures: number | undefined;
  if (info) {
    const v = info.keywords.get("version");
    if (v !== undefined) {
      if (typeof v !== "string" || !/^\d+$/.test(v)) fail(file, `the label's Version = ${JSON.stringify(v)} is not a version number`);
      version = Number(v);
    }
    numberOfPoints = intKeyword(file, info, "ControlNetworkInfo", "NumberOfPoints", false);
    numberOfMeasures = intKeyword(file, info, "ControlNetworkInfo", "NumberOfMeasures", false);
  }
  if (version === 1) {
    fail(file, "this is a version 1 binary control network (ISIS 3.2 era), which is not read here; open and save it with a current ISIS (e.g. cnetbin2pvl, then cnetpvl2bin) to upgrade it to version 5");
  }
  if (version !== 2 && version !== 5) fail(file, `control network version ${version} is not supported (versions 2 and 5 are)`);
  if (headerStartByte < labelEnd) {
    fail(file, `the label (${labelEnd} bytes) runs past HeaderStartByte = ${headerStartByte}; the file is corrupt`);
  }
  const headerEnd = headerStartByte + headerBytes;
  if (headerEnd > fileSize) {
    fail(file, `the label says the protobuf header spans bytes ${headerStartByte}–${headerEnd}, but the file has only ${fileSize} bytes: the file is truncated (copy it again)`);
  }
  if (pointsStartByte !== headerEnd) {
    fail(file, `the label's PointsStartByte = ${pointsStartByte} is not right after the header (HeaderStartByte + HeaderBytes = ${headerEnd}); the label is corrupt`);
  }
  const pointsEnd = pointsStartByte + pointsBytes;
  if (pointsEnd > fileSize) {
    fail(file, `the label says the points end at byte ${pointsEnd}, but the file has only ${fileSize} bytes: the file is truncated (copy it again)`);
  }
  if (pointsEnd < fileSize) {
    fail(file, `the file has ${fileSize - pointsEnd} bytes after the points, which end at byte ${pointsEnd} by the label; it is not the file its label describes (overwritten in place?)`);
  }
  return { version, labelBytes: labelEnd, headerStartByte, headerBytes, pointsStartByte, pointsBytes, numberOfPoints, numberOfMeasures };
}

// ---------------------------------------------------------------------------------------------------

type Msg = Record<string, unknown>;

const has = (m: Msg, k: string): boolean => Object.prototype.hasOwnProperty.call(m, k) && m[k] !== undefined && m[k] !== null;

class Converter {
  private readonly decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  constructor(
    private readonly file: string,
    private readonly invalidUtf8: "error" | "latin1",
  ) {}

  fail(msg: string): never {
    return fail(this.file, msg);
  }

  str(m: Msg, k: string, where: string): string | undefined {
    if (!has(m, k)) return undefined;
    const bytes = m[k] as Uint8Array;
    try {
      return this.decoder.decode(bytes);
    } catch {
      if (this.invalidUtf8 === "latin1") return Buffer.from(bytes).toString("latin1");
      const bad = bytes.findIndex((b) => b >= 0x80);
      return this.fail(
        `${where}: ${k} is not valid UTF-8 (byte 0x${bytes[bad]?.toString(16)} at offset ${bad} of the string). ` +
          "ISIS writes strings as Latin-1, so a non-ASCII character saved by ISIS looks like this; read with { invalidUtf8: 'latin1' } to accept it",
      );
    }
  }

  num(m: Msg, k: string, where: string): number | undefined {
    if (!has(m, k)) return undefined;
    const v = m[k] as number;
    if (!Number.isFinite(v)) this.fail(`${where}: ${k} is ${v}; a control network holds finite numbers only`);
    return v;
  }

  bool(m: Msg, k: string): boolean | undefined {
    return has(m, k) ? Boolean(m[k]) : undefined;
  }

  source(m: Msg, k: string, where: string): AprioriSource | undefined {
    if (!has(m, k)) return undefined;
    const code = m[k] as number;
    const s = APRIORI_SOURCES[code];
    if (s === undefined) this.fail(`${where}: ${k} has unknown code ${code} (ISIS knows 0–7)`);
    return s;
  }

  surface(m: Msg, prefix: "apriori" | "adjusted", where: string): SurfacePoint | undefined {
    const keys = [`${prefix}X`, `${prefix}Y`, `${prefix}Z`];
    const present = keys.filter((k) => has(m, k));
    const covar = (m[`${prefix}Covar`] as number[] | undefined) ?? [];
    if (present.length === 0) {
      if (covar.length > 0) this.fail(`${where}: has ${prefix}Covar but no ${prefix}X/Y/Z`);
      return undefined;
    }
    if (present.length < 3) {
      this.fail(`${where}: has ${present.join(", ")} but not ${keys.filter((k) => !present.includes(k)).join(", ")}; a surface point needs X, Y and Z`);
    }
    const sp: SurfacePoint = { x: this.num(m, keys[0], where)!, y: this.num(m, keys[1], where)!, z: this.num(m, keys[2], where)! };
    if (covar.length > 0) {
      if (covar.length !== 6) this.fail(`${where}: ${prefix}Covar has ${covar.length} values; ISIS stores 6 (upper triangle of a 3 × 3 matrix)`);
      if (!covar.every(Number.isFinite)) this.fail(`${where}: ${prefix}Covar has a non-finite value`);
      sp.covariance = [...covar] as Covariance;
    }
    return sp;
  }

  measure(m: Msg, pointWhere: string, j: number): ControlMeasure {
    let where = `${pointWhere}, measure ${j}`;
    const serialNumber = this.str(m, "serialnumber", where)!;
    where += ` ('${serialNumber}')`;
    const type = MEASURE_TYPES[m.type as number];
    if (type === undefined) this.fail(`${where}: measure type code ${String(m.type)} is unknown (ISIS knows 0–3)`);
    if (!has(m, "sample") || !has(m, "line")) {
      this.fail(`${where}: has no ${has(m, "sample") ? "line" : "sample"}; measures without coordinates are not supported`);
    }
    const out: ControlMeasure = { serialNumber, type, sample: this.num(m, "sample", where)!, line: this.num(m, "line", where)! };
    const set = <K extends keyof ControlMeasure>(k: K, v: ControlMeasure[K] | undefined) => {
      if (v !== undefined) out[k] = v;
    };
    set("ignore", this.bool(m, "ignore"));
    set("editLock", this.bool(m, "editLock"));
    set("jigsawRejected", this.bool(m, "jigsawRejected"));
    set("aprioriSample", this.num(m, "apriorisample", where));
    set("aprioriLine", this.num(m, "aprioriline", where));
    set("sampleSigma", this.num(m, "samplesigma", where));
    set("lineSigma", this.num(m, "linesigma", where));
    set("diameter", this.num(m, "diameter", where));
    set("sampleResidual", this.num(m, "sampleResidual", where));
    set("lineResidual", this.num(m, "lineResidual", where));
    set("chooserName", this.str(m, "choosername", where));
    set("datetime", this.str(m, "datetime", where));
    const logs = (m.log as Msg[] | undefined) ?? [];
    if (logs.length > 0) {
      const entries: MeasureLogEntry[] = [];
      logs.forEach((l, k) => {
        if (!has(l, "doubleDataType") || !has(l, "doubleDataValue") || l.doubleDataType === 0) return; // ISIS's "invalid" entry
        const dataType = MEASURE_LOG_TYPES[l.doubleDataType as number];
        if (dataType === undefined) this.fail(`${where}: log entry ${k} has unknown data type ${String(l.doubleDataType)} (ISIS knows 1–8)`);
        entries.push({ dataType, value: this.num(l, "doubleDataValue", `${where}, log entry ${k}`)! });
      });
      if (entries.length > 0) out.logData = entries;
    }
    return out;
  }

  point(m: Msg, i: number): ControlPoint {
    let where = `point ${i}`;
    const id = this.str(m, "id", where)!;
    where = `point '${id}' (index ${i})`;
    const type = POINT_TYPE_FROM_CODE[m.type as number];
    if (type === undefined) this.fail(`${where}: point type code ${String(m.type)} is unknown (ISIS knows 0–4)`);
    const out: ControlPoint = { id, type, measures: [] };
    const set = <K extends keyof ControlPoint>(k: K, v: ControlPoint[K] | undefined) => {
      if (v !== undefined) out[k] = v;
    };
    set("ignore", this.bool(m, "ignore"));
    set("editLock", this.bool(m, "editLock"));
    set("jigsawRejected", this.bool(m, "jigsawRejected"));
    set("chooserName", this.str(m, "chooserName", where));
    set("datetime", this.str(m, "datetime", where));
    if (has(m, "referenceIndex")) out.referenceIndex = m.referenceIndex as number;
    set("aprioriSurfacePointSource", this.source(m, "aprioriSurfPointSource", where));
    set("aprioriSurfacePointSourceFile", this.str(m, "aprioriSurfPointSourceFile", where));
    set("aprioriRadiusSource", this.source(m, "aprioriRadiusSource", where));
    set("aprioriRadiusSourceFile", this.str(m, "aprioriRadiusSourceFile", where));
    set("latitudeConstrained", this.bool(m, "latitudeConstrained"));
    set("longitudeConstrained", this.bool(m, "longitudeConstrained"));
    set("radiusConstrained", this.bool(m, "radiusConstrained"));
    set("aprioriSurfacePoint", this.surface(m, "apriori", where));
    set("adjustedSurfacePoint", this.surface(m, "adjusted", where));
    const serials = new Map<string, number>();
    ((m.measures as Msg[] | undefined) ?? []).forEach((mm, j) => {
      const measure = this.measure(mm, where, j);
      const first = serials.get(measure.serialNumber);
      if (first !== undefined) {
        this.fail(`${where}: measures ${first} and ${j} have the same serial number '${measure.serialNumber}' (ISIS refuses such a point)`);
      }
      serials.set(measure.serialNumber, j);
      out.measures.push(measure);
    });
    if (out.referenceIndex !== undefined && (out.referenceIndex < 0 || out.referenceIndex >= out.measures.length)) {
      this.fail(`${where}: referenceIndex ${out.referenceIndex} is not the index of one of its ${out.measures.length} measures`);
    }
    return out;
  }
}

function decodeMessage(file: string, type: import("protobufjs").Type, bytes: Uint8Array, what: string): Msg {
  try {
    return type.decode(bytes) as unknown as Msg;
  } catch (err) {
    return fail(file, `${what} is not a valid ${type.name} message (${(err as Error).message}); the file is corrupt or truncated`);
  }
}

/**
 * Decodes the header and points. `body` holds the file from `layout.headerStartByte` to the end of the points.
 */
export function decodeControlNetBody(layout: ControlNetLayout, body: Uint8Array, file: string, options: ReadControlNetworkOptions = {}): ControlNetwork {
  const proto = isisProto();
  const conv = new Converter(file, options.invalidUtf8 ?? "error");
  const headerRange = `bytes ${layout.headerStartByte}–${layout.headerStartByte + layout.headerBytes}`;
  const header = decodeMessage(file, layout.version === 2 ? proto.headerV2 : proto.headerV5, body.subarray(0, layout.headerBytes), `the protobuf header (${headerRange})`);
  const net: ControlNetwork = {
    networkId: conv.str(header, "networkId", "header") ?? "",
    targetName: conv.str(header, "targetName", "header") ?? "",
    points: [],
  };
  for (const k of ["userName", "created", "lastModified", "description"] as const) {
    const v = conv.str(header, k, "header");
    if (v) net[k] = v; // ISIS writes "" for unset header strings
  }
  const points = body.subarray(layout.headerBytes, layout.headerBytes + layout.pointsBytes);
  const pointType = layout.version === 2 ? proto.pointV2 : proto.pointV5;
  const messages: Msg[] = [];
  if (layout.version === 2) {
    const sizes = (header.pointMessageSizes as number[] | undefined) ?? [];
    let offset = 0;
    sizes.forEach((size, i) => {
      if (size < 0) fail(file, `the header gives point ${i} a size of ${size} bytes; the file is corrupt`);
      if (offset + size > points.length) {
        fail(file, `the header's point sizes add up to more than the label's PointsBytes = ${layout.pointsBytes} (at point ${i}); the file is corrupt`);
      }
      messages.push(decodeMessage(file, pointType, points.subarray(offset, offset + size), `point ${i} (bytes ${layout.pointsStartByte + offset}–${layout.pointsStartByte + offset + size})`));
      offset += size;
    });
    if (offset !== points.length) {
      fail(file, `the header's ${sizes.length} point sizes add up to ${offset} bytes, but the label's PointsBytes = ${layout.pointsBytes}; the file is corrupt`);
    }
  } else {
    let offset = 0;
    while (offset < points.length) {
      const i = messages.length;
      const at = layout.pointsStartByte + offset;
      if (points.length - offset < 4) fail(file, `point ${i} at byte ${at}: ${points.length - offset} bytes left, too few for its 4-byte size; the file is corrupt`);
      const size = Buffer.from(points.buffer, points.byteOffset + offset, 4).readUInt32LE(0);
      offset += 4;
      if (size > points.length - offset) {
        fail(file, `point ${i} at byte ${at} claims ${size} bytes, but only ${points.length - offset} remain before the end of the points; the file is corrupt or truncated`);
      }
      messages.push(decodeMessage(file, pointType, points.subarray(offset, offset + size), `point ${i} (bytes ${at + 4}–${at + 4 + size})`));
      offset += size;
    }
    if (has(header, "numPoints") && header.numPoints !== messages.length) {
      fail(file, `the header says ${String(header.numPoints)} points, but the file holds ${messages.length}; the file is corrupt`);
    }
  }
  const ids = new Map<string, number>();
  messages.forEach((m, i) => {
    const p = conv.point(m, i);
    const first = ids.get(p.id);
    if (first !== undefined) fail(file, `points ${first} and ${i} have the same id '${p.id}' (ISIS refuses such a network)`);
    ids.set(p.id, i);
    net.points.push(p);
  });
  if (layout.numberOfPoints !== undefined && layout.numberOfPoints !== net.points.length) {
    fail(file, `the label says NumberOfPoints = ${layout.numberOfPoints}, but the file holds ${net.points.length} points; the file is corrupt`);
  }
  const measures = net.points.reduce((s, p) => s + p.measures.length, 0);
  if (layout.numberOfMeasures !== undefined && layout.numberOfMeasures !== measures) {
    fail(file, `the label says NumberOfMeasures = ${layout.numberOfMeasures}, but the file holds ${measures} measures; the file is corrupt`);
  }
  return net;
}

/** Decodes a whole ISIS binary control network held in memory. `file` names it in errors. */
export function decodeControlNetwork(bytes: Uint8Array, options: ReadControlNetworkOptions & { file?: string } = {}): ControlNetwork {
  const file = options.file ?? "<control network bytes>";
  const layout = parseControlNetLayout(bytes.subarray(0, MAX_LABEL_BYTES), bytes.length, file);
  return decodeControlNetBody(layout, bytes.subarray(layout.headerStartByte), file, options);
}

/** Reads an ISIS binary control network (version 2 or 5) from `file`. */
export async function readControlNetwork(file: string, options: ReadControlNetworkOptions = {}): Promise<ControlNetwork> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(file, "r");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ControlNetError(`${file}: cannot open the control network: ${e.code === "ENOENT" ? "no such file" : e.message}`, file);
  }
  try {
    const { size } = await handle.stat();
    const chunk = Buffer.alloc(Math.min(size, MAX_LABEL_BYTES));
    await readFully(handle, chunk, 0, file);
    const layout = parseControlNetLayout(chunk, size, file);
    // The layout has been checked against the real file size, so this allocation is what the file holds.
    const body = Buffer.alloc(size - layout.headerStartByte);
    await readFully(handle, body, layout.headerStartByte, file);
    return decodeControlNetBody(layout, body, file, options);
  } finally {
    await handle.close();
  }
}

async function readFully(handle: fs.promises.FileHandle, into: Buffer, position: number, file: string): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) fail(file, `the file ended after ${position + done} bytes while reading it (it shrank, or is being written)`);
    done += bytesRead;
  }
}
