import * as fs from "fs";
import * as path from "path";
import type { ChainableCommander, Redis } from "ioredis";

/**
 * The Lua transition scripts in ./commands, one file per state transition. A file's name carries its
 * KEYS count (`claim-11.lua`); `-- @include "name"` pulls in ./commands/includes/name.lua.
 */
const DIR = path.join(__dirname, "commands");

export const SCRIPT_NAMES = [
  "push", "claim", "heartbeat", "complete", "requeue", "quarantine", "adopt", "expired", "lock", "promote", "resubmit", "vanished",
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

interface LoadedScript { numberOfKeys: number; lua: string }
let cache: Map<ScriptName, LoadedScript> | undefined;

function loadScripts(): Map<ScriptName, LoadedScript> {
  if (cache) return cache;
  const files = fs.readdirSync(DIR);
  const map = new Map<ScriptName, LoadedScript>();
  for (const name of SCRIPT_NAMES) {
    const matches = files.filter((f) => new RegExp(`^${name}-\\d+\\.lua$`).test(f));
    if (matches.length !== 1) {
      throw new Error(`autocnet: expected one Lua script ${name}-N.lua in ${DIR}, found ${matches.length}; rebuild or reinstall the package`);
    }
    const file = matches[0];
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)![1]);
    const lua = fs.readFileSync(path.join(DIR, file), "utf8").replace(/^-- @include "([\w-]+)"$/gm, (_, inc: string) =>
      fs.readFileSync(path.join(DIR, "includes", `${inc}.lua`), "utf8"));
    map.set(name, { numberOfKeys, lua });
  }
  cache = map;
  return map;
}

const COMMAND_PREFIX = "acn_";

/** Defines the transition scripts as commands on a client (EVALSHA with EVAL fallback, pipeline-able). */
export function defineScripts(redis: Redis): void {
  for (const [name, s] of loadScripts()) {
    if (typeof (redis as unknown as Record<string, unknown>)[COMMAND_PREFIX + name] === "function") continue;
    redis.defineCommand(COMMAND_PREFIX + name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
  }
}

type Arg = string | number | Buffer;

/** Runs one transition script (bulk replies as strings). */
export function runScript<T = unknown>(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
  return callScript<T>(redis, COMMAND_PREFIX + name, name, keys, args);
}

/**
 * Runs one transition script with bulk replies as Buffers: for entries that must be matched byte for
 * byte later (a message that is not valid UTF-8 would not survive a round trip through a JS string).
 */
export function runScriptBuffer<T = unknown>(redis: Redis, name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
  return callScript<T>(redis, `${COMMAND_PREFIX}${name}Buffer`, name, keys, args);
}

function callScript<T>(redis: Redis, command: string, name: ScriptName, keys: string[], args: Arg[]): Promise<T> {
  checkKeys(name, keys);
  const fn = (redis as unknown as Record<string, (...a: Arg[]) => Promise<T>>)[command];
  if (!fn) throw new Error(`autocnet: scripts are not defined on this Redis client; create it with connectRedis()`);
  return fn.call(redis, ...keys, ...args);
}

/** Queues one transition script on a pipeline. */
export function pipeScript(pipe: ChainableCommander, name: ScriptName, keys: string[], args: Arg[]): void {
  checkKeys(name, keys);
  const fn = (pipe as unknown as Record<string, (...a: Arg[]) => unknown>)[COMMAND_PREFIX + name];
  fn.call(pipe, ...keys, ...args);
}

function checkKeys(name: ScriptName, keys: string[]): void {
  const want = loadScripts().get(name)!.numberOfKeys;
  if (keys.length !== want) throw new Error(`autocnet: script ${name} takes ${want} keys, got ${keys.length}`);
}
