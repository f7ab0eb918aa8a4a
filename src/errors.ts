/** Errors that carry a one-line, actionable message. */
import { maskSecrets } from "./secrets";

/** A problem in a configuration file or object: names the key path and the file. */
export class ConfigError extends Error {
  constructor(message: string, readonly keyPath?: string, readonly file?: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** A walltime string that is not one of SLURM's `--time` forms. */
export class WalltimeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WalltimeError";
  }
}

/**
 * Why a connection failed: the server refused our credentials (`auth`), TLS verification or the TLS
 * handshake failed (`tls`), nothing listens there (`refused`), no answer in time (`timeout`), the host name
 * does not resolve (`not-found`), a role or database the server does not have (`missing`), or other.
 */
export type ConnectionFailure = "auth" | "tls" | "refused" | "timeout" | "not-found" | "missing" | "other";

/** A service (Redis, database, scheduler) that cannot be reached or refused us; `reason` says which. */
export class ConnectionError extends Error {
  constructor(message: string, readonly reason: ConnectionFailure = "other") {
    super(message);
    this.name = "ConnectionError";
  }
}

/** An error's message as text for a log or a record, with any URL password or secret value masked. */
export function errorMessage(err: unknown): string {
  return maskSecrets(err instanceof Error ? err.message : String(err));
}
