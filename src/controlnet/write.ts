/**
 * Writing an ISIS binary control network.
 *
 * Version 2 (default; ISIS ControlNetFileV0002::Write, read by every ISIS since 3.3):
 *   [0, 65536)                   PVL label (pvl.ts), then zero bytes
 *   [65536, +HeaderBytes)        ControlNetFileHeaderV0002, with pointMessageSizes (packed)
 *   [PointsStartByte, +PointsBytes)  the ControlPointFileEntryV0002 messages back to back
 * Version 5 (what ISIS writes since 2018, ControlNetVersioner::write):
 *   the same label and header position; ControlNetFileHeaderV0005 (no sizes), then each point as a
 *   4-byte little-endian uint32 length followed by that many bytes of ControlPointFileEntryV0002
 *   (field-identical to V0005); PointsBytes counts the length prefixes too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  ControlNetError,
  MEASURE_LOG_TYPES,
  APRIORI_SOURCES,
  MEASURE_TYPES,
  POINT_TYPE_CODE,
  type ControlMeasure,
  type ControlNetwork,
  type ControlPoint,
} from "./model";
import { isisProto } from "./proto";
import { formatProtoBufferLabel } from "./pvl";
import { summarizeProblems, validateControlNetwork } from "./validate";

/** Where ISIS puts the protobuf header: the label area is this many bytes. */
export const HEADER_START_BYTE = 65536;

export interface WriteControlNetworkOptions {
  /** 2 (default: readable by every ISIS 3) or 5 (what current ISIS writes). */
  version?: 2 | 5;
}

const utf8 = (s: string): Buffer => Buffer.from(s, "utf8");

function measureMessage(m: ControlMeasure): Record<string, unknown> {
  const o: Record<string, unknown> = {
    serialnumber: utf8(m.serialNumber),
    type: MEASURE_TYPES.indexOf(m.type),
    sample: m.sample,
    line: m.line,
  };
  if (m.sampleResidual !== undefined) o.sampleResidual = m.sampleResidual;
  if (m.lineResidual !== undefined) o.lineResidual = m.lineResidual;
  if (m.chooserName !== undefined) o.choosername = utf8(m.chooserName);
  if (m.datetime !== undefined) o.datetime = utf8(m.datetime);
  if (m.editLock !== undefined) o.editLock = m.editLock;
  if (m.ignore !== undefined) o.ignore = m.ignore;
  if (m.jigsawRejected !== undefined) o.jigsawRejected = m.jigsawRejected;
  if (m.diameter !== undefined) o.diameter = m.diameter;
  if (m.aprioriSample !== undefined) o.apriorisample = m.aprioriSample;
  if (m.aprioriLine !== undefined) o.aprioriline = m.aprioriLine;
  if (m.sampleSigma !== undefined) o.samplesigma = m.sampleSigma;
  if (m.lineSigma !== undefined) o.linesigma = m.lineSigma;
  if (m.logData !== undefined) {
    o.log = m.logData.map((e) => ({ doubleDataType: MEASURE_LOG_TYPES.indexOf(e.dataType), doubleDataValue: e.value }));
  }
  return o;
}

function pointMessage(p: ControlPoint): Record<string, unknown> {
  const o: Record<string, unknown> = { id: utf8(p.id), type: POINT_TYPE_CODE[p.type] };
  if (p.chooserName !== undefined) o.chooserName = utf8(p.chooserName);
  if (p.datetime !== undefined) o.datetime = utf8(p.datetime);
  if (p.editLock !== undefined) o.editLock = p.editLock;
  if (p.ignore !== undefined) o.ignore = p.ignore;
  if (p.jigsawRejected !== undefined) o.jigsawRejected = p.jigsawRejected;
  if (p.referenceIndex !== undefined) o.referenceIndex = p.referenceIndex;
  if (p.aprioriSurfacePointSource !== undefined) o.aprioriSurfPointSource = APRIORI_SOURCES.indexOf(p.aprioriSurfacePointSource);
  if (p.aprioriSurfacePointSourceFile !== undefined) o.aprioriSurfPointSourceFile = utf8(p.aprioriSurfacePointSourceFile);
  if (p.aprioriRadiusSource !== undefined) o.aprioriRadiusSource = APRIORI_SOURCES.indexOf(p.aprioriRadiusSource);
  if (p.aprioriRadiusSourceFile !== undefined) o.aprioriRadiusSourceFile = utf8(p.aprioriRadiusSourceFile);
  if (p.latitudeConstrained !== undefined) o.latitudeConstrained = p.latitudeConstrained;
  if (p.longitudeConstrained !== undefined) o.longitudeConstrained = p.longitudeConstrained;
  if (p.radiusConstrained !== undefined) o.radiusConstrained = p.radiusConstrained;
  const ap = p.aprioriSurfacePoint;
  if (ap) {
    o.aprioriX = ap.x;
    o.aprioriY = ap.y;
    o.aprioriZ = ap.z;
    if (ap.covariance) o.aprioriCovar = [...ap.covariance];
  }
  const ad = p.adjustedSurfacePoint;
  if (ad) {
    o.adjustedX = ad.x;
    o.adjustedY = ad.y;
    o.adjustedZ = ad.z;
    if (ad.covariance) o.adjustedCovar = [...ad.covariance];
  }
  o.measures = p.measures.map(measureMessage);
  return o;
}

/**
 * The bytes of `net` as an ISIS binary control network (version 2 unless `options.version` is 5).
 * Throws ControlNetError listing what to fix when the network is not writable (see validate.ts).
 */
export function encodeControlNetwork(net: ControlNetwork, options: WriteControlNetworkOptions = {}, file?: string): Uint8Array {
  const version = options.version ?? 2;
  if (version !== 2 && version !== 5) {
    throw new ControlNetError(`cannot write control network version ${String(version)}; use 2 or 5`, file);
  }
  const problems = validateControlNetwork(net);
  if (problems.length > 0) {
    throw new ControlNetError(`control network ${file ? `for ${file} ` : ""}not written, ${summarizeProblems(problems)}`, file);
  }
  const proto = isisProto();
  const pointType = version === 2 ? proto.pointV2 : proto.pointV5;
  const points = net.points.map((p) => pointType.encode(pointMessage(p)).finish());
  const header: Record<string, unknown> = {
    networkId: utf8(net.networkId),
    targetName: utf8(net.targetName),
    created: utf8(net.created ?? ""),
    lastModified: utf8(net.lastModified ?? ""),
    description: utf8(net.description ?? ""),
    userName: utf8(net.userName ?? ""),
  };
  let headerBytes: Uint8Array;
  let pointsBytes: number;
  if (version === 2) {
    header.pointMessageSizes = points.map((p) => p.length);
    headerBytes = proto.headerV2.encode(header).finish();
    pointsBytes = points.reduce((s, p) => s + p.length, 0);
  } else {
    headerBytes = proto.headerV5.encode(header).finish();
    pointsBytes = points.reduce((s, p) => s + 4 + p.length, 0);
  }
  const numberOfMeasures = net.points.reduce((s, p) => s + p.measures.length, 0);
  const label = Buffer.from(
    formatProtoBufferLabel({
      headerStartByte: HEADER_START_BYTE,
      headerBytes: headerBytes.length,
      pointsStartByte: HEADER_START_BYTE + headerBytes.length,
      pointsBytes,
      networkId: net.networkId,
      targetName: net.targetName,
      userName: net.userName ?? "",
      created: net.created ?? "",
      lastModified: net.lastModified ?? "",
      description: net.description ?? "",
      numberOfPoints: net.points.length,
      numberOfMeasures,
      version,
    }),
    "utf8",
  );
  if (label.length >= HEADER_START_BYTE) {
    throw new ControlNetError(
      `control network label is ${label.length} bytes, more than the ${HEADER_START_BYTE} ISIS reserves for it; shorten the description or other header strings`,
      file,
    );
  }
  const total = HEADER_START_BYTE + headerBytes.length + pointsBytes;
  const out = Buffer.alloc(total); // zero-filled: the padding after the label
  label.copy(out, 0);
  out.set(headerBytes, HEADER_START_BYTE);
  let offset = HEADER_START_BYTE + headerBytes.length;
  for (const p of points) {
    if (version === 5) {
      out.writeUInt32LE(p.length, offset);
      offset += 4;
    }
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Writes `net` to `file` as an ISIS binary control network (see the module comment for the layout).
 * The file appears atomically: written to a temporary file in the same directory, then renamed.
 */
export async function writeControlNetwork(file: string, net: ControlNetwork, options: WriteControlNetworkOptions = {}): Promise<void> {
  const bytes = encodeControlNetwork(net, options, file);
  await writeFileAtomic(file, bytes);
}

export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  try {
    const handle = await fs.promises.open(tmp, "wx");
    try {
      await handle.writeFile(bytes);
      await handle.sync(); // on disk before it takes the name: a crash leaves the old file or the new, never a hole
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    const e = err as NodeJS.ErrnoException;
    throw new ControlNetError(`cannot write ${file}: ${e.code === "ENOENT" ? `directory ${dir} does not exist; create it first` : e.message}`, file);
  }
}

/** Now as ISIS writes Created/LastModified (`YYYY-MM-DDThh:mm:ss`), in UTC. */
export function isisTimestamp(date: Date = new Date()): string {
  return date.toISOString().slice(0, 19);
}
