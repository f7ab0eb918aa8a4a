import { AsyncLocalStorage } from "async_hooks";

/**
 * Which job a piece of output belongs to. A worker runs each job function inside `inJobScope`, so that
 * everything the job writes — `console.log`, `console.error`, `process.stdout.write`, from its timers and
 * callbacks too — is attributed to it: once `captureJobOutput()` is installed (the `autocnet-worker`
 * command does), each line the job writes goes to the worker's log prefixed like `ctx.log`'s lines,
 * `[worker <id>] <job id>: `, and `ncg.logs(jobId)` finds it there.
 */
const scope = new AsyncLocalStorage<string>();

/** Runs `fn` with its output attributed to the job whose line prefix is `prefix`. */
export function inJobScope<T>(prefix: string, fn: () => T): T {
  return scope.run(prefix, fn);
}

/** Runs `fn` outside any job's scope (the worker's own lines, and ctx.log's already-prefixed ones). */
export function outsideJobScope<T>(fn: () => T): T {
  return scope.exit(fn);
}

let installed = false;

/** Prefixes every line a job writes to stdout or stderr with its scope's prefix (idempotent). */
export function captureJobOutput(streams: NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  if (installed) return;
  installed = true;
  for (const stream of streams) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    let atLineStart = true;
    (stream as unknown as { write: (chunk: unknown, ...rest: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
      const prefix = scope.getStore();
      if (prefix === undefined || (typeof chunk !== "string" && !(chunk instanceof Uint8Array))) {
        if (typeof chunk === "string" && chunk.length > 0) atLineStart = chunk.endsWith("\n");
        else if (chunk instanceof Uint8Array && chunk.length > 0) atLineStart = chunk[chunk.length - 1] === 10;
        return write(chunk, ...rest);
      }
      const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : "utf8";
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString(encoding);
      if (text.length === 0) return write(chunk, ...rest);
      const out = (atLineStart ? prefix : "") + text.replace(/\n(?=[^])/g, `\n${prefix}`);
      atLineStart = out.endsWith("\n");
      const callback = rest.find((r) => typeof r === "function");
      return callback ? write(out, "utf8", callback) : write(out, "utf8");
    };
  }
}
