/** Errors that carry a one-line, actionable message. */

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

/** A service (Redis, database, scheduler) that cannot be reached. */
export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConnectionError";
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
