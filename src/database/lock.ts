import * as fs from "fs";
import * as path from "path";
import { ConnectionError } from "../errors";

/** Refuses a second process on one embedded database directory (PGlite is single-process). */
const openHere = new Set<string>();

export function lockDirectory(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const key = fs.realpathSync(dir);
  if (openHere.has(key)) {
    throw new ConnectionError(`the embedded database at ${dir} is open in process ${process.pid} (this one); close that graph first, or configure database: to use a PostgreSQL server`);
  }
  const lock = path.join(dir, "autocnet.lock");
  try {
    const pid = Number(fs.readFileSync(lock, "utf8"));
    if (pid && pid !== process.pid && isAlive(pid)) {
      throw new ConnectionError(`the embedded database at ${dir} is open in process ${pid}; close that graph first, or configure database: to use a PostgreSQL server`);
    }
  } catch (err) {
    if (err instanceof ConnectionError) throw err;
  }
  fs.writeFileSync(lock, String(process.pid));
  openHere.add(key);
  return () => {
    openHere.delete(key);
    try {
      if (Number(fs.readFileSync(lock, "utf8")) === process.pid) fs.unlinkSync(lock);
    } catch {
      // already gone
    }
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  // a zombie answers kill(0) too (a container may never reap it): it holds nothing
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return true;
  }
}
