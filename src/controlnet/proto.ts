/**
 * The ISIS .proto files (copied verbatim into `proto/`, origin in `proto/README.md`), loaded once.
 *
 * The build copies only compiled .ts to `dist/`, so the files are looked up at run time, relative to
 * this module: `./proto` (running from `src/controlnet/`, or from `dist/controlnet/` if a build step
 * copied them there), then `../../src/controlnet/proto` (running from `dist/controlnet/` in a checkout).
 *
 * Every `string` field is loaded as `bytes`: protobufjs decodes strings leniently (a bad byte becomes
 * U+FFFD without a word), and a control network must not change silently. We encode and decode UTF-8
 * ourselves, with strict validation and an error that names the field (see read.ts / write.ts). The
 * wire format of `string` and `bytes` is identical (length-delimited), so the files are unchanged.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as protobuf from "protobufjs";

export const PROTO_FILES = [
  "ControlNetFileHeaderV0002.proto",
  "ControlPointFileEntryV0002.proto",
  "ControlNetFileHeaderV0005.proto",
  "ControlPointFileEntryV0005.proto",
] as const;

export interface IsisProtoTypes {
  headerV2: protobuf.Type;
  pointV2: protobuf.Type;
  headerV5: protobuf.Type;
  pointV5: protobuf.Type;
  /** The directory the .proto files were loaded from. */
  dir: string;
}

/** Candidate directories, in the order they are tried, for this module living in `moduleDir`. */
export function protoDirCandidates(moduleDir: string = __dirname): string[] {
  return [path.join(moduleDir, "proto"), path.resolve(moduleDir, "..", "..", "src", "controlnet", "proto")];
}

/** The first candidate directory that holds all the .proto files. */
export function findProtoDir(moduleDir: string = __dirname): string {
  const candidates = protoDirCandidates(moduleDir);
  for (const dir of candidates) {
    if (PROTO_FILES.every((f) => fs.existsSync(path.join(dir, f)))) return dir;
  }
  throw new Error(
    `ISIS control network .proto files not found; looked for ${PROTO_FILES.join(", ")} in ${candidates.join(" and ")}. ` +
      "Copy src/controlnet/proto/*.proto next to the compiled controlnet module (dist/controlnet/proto/).",
  );
}

/** `required string x = 1;` → `required bytes x = 1;` (field declarations only). */
function stringFieldsAsBytes(source: string): string {
  return source.replace(/^(\s*(?:required|optional|repeated)\s+)string(\s)/gm, "$1bytes$2");
}

let cached: IsisProtoTypes | undefined;

export function isisProto(): IsisProtoTypes {
  if (cached) return cached;
  const dir = findProtoDir();
  const root = new protobuf.Root();
  for (const file of PROTO_FILES) {
    const source = fs.readFileSync(path.join(dir, file), "utf8");
    protobuf.parse(stringFieldsAsBytes(source), root, { keepCase: true });
  }
  root.resolveAll();
  cached = {
    headerV2: root.lookupType("Isis.ControlNetFileHeaderV0002"),
    pointV2: root.lookupType("Isis.ControlPointFileEntryV0002"),
    headerV5: root.lookupType("Isis.ControlNetFileHeaderV0005"),
    pointV5: root.lookupType("Isis.ControlPointFileEntryV0005"),
    dir,
  };
  return cached;
}
