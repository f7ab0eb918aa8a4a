/**
 * Whether a job's error is the infrastructure's rather than the job's: the database or Redis could not be
 * reached, refused a connection, or dropped it. Such a failure is retried with backoff and does not spend
 * the job's `maxfailures` (up to `cluster.max_infra_failures` attempts). A job function can say so
 * explicitly by throwing an `InfrastructureError`.
 */
export class InfrastructureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "InfrastructureError";
  }
}

/** Socket-level errors (Node's `code`). */
const NETWORK_CODES = new Set([
  "ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH",
  "ENETUNREACH", "ENETDOWN", "EHOSTDOWN", "ESOCKETTIMEDOUT", "ENOTCONN",
]);

/**
 * PostgreSQL SQLSTATEs of an unavailable server: class 08 (connection exception), 57P01–57P03 (admin
 * shutdown, crash shutdown, cannot connect now: "the database system is starting up / is not yet
 * accepting connections"), 53300 (too many connections).
 */
function isPostgresUnavailable(code: string): boolean {
  return /^08[0-9A-Z]{3}$/.test(code) || code === "57P01" || code === "57P02" || code === "57P03" || code === "53300";
}

/** Messages of drivers that carry no code: node-postgres, ioredis. */
const MESSAGES = [
  /^Connection terminated/i,                              // pg: "Connection terminated unexpectedly", "... due to connection timeout"
  /timeout exceeded when trying to connect/i,              // pg pool
  /^Client has encountered a connection error/i,           // pg
  /^Connection is closed\.?$/i,                            // ioredis
  /^Reached the max retries per request limit/i,           // ioredis MaxRetriesPerRequestError
  /the database system is (starting up|shutting down|not yet accepting connections|in recovery mode)/i,
];

export function isInfrastructureError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== "object" || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (e.name === "ConnectionError") {
    // refused credentials, TLS verification, a role or database that does not exist: configuration, not an outage
    const reason = (err as { reason?: unknown }).reason;
    return !(reason === "auth" || reason === "tls" || reason === "missing");
  }
  if (e.name === "InfrastructureError" || e.name === "MaxRetriesPerRequestError") return true;
  if (typeof e.code === "string" && (NETWORK_CODES.has(e.code) || isPostgresUnavailable(e.code))) return true;
  if (typeof e.message === "string" && MESSAGES.some((re) => re.test(e.message as string))) return true;
  if (Array.isArray(e.errors) && e.errors.some((x) => isInfrastructureError(x, depth + 1))) return true; // AggregateError
  return e.cause !== undefined && isInfrastructureError(e.cause, depth + 1);
}
