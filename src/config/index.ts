/** Configuration: the schema (and the types derived from it), loading from YAML or an object, walltimes. */
export { configSchema } from "./schema";
export type { Config, ConfigInput, RedisConfig, RedisTlsConfig, ClusterConfig, DatabaseConfig } from "./schema";
export { loadConfig, configToInput, ensureConfigFile, isWrittenConfigFile, removeConfigFile } from "./load";
export type { LoadOptions } from "./load";
export { parseWalltime, formatWalltime } from "./walltime";
