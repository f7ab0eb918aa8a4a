import type { Database } from "./database";
import { MIGRATIONS } from "./schema";

/** Runs the migrations this database has not had yet, in order. Returns the versions applied. */
export async function migrate(db: Database): Promise<number[]> {
  await db.query(`CREATE TABLE IF NOT EXISTS autocnet_schema (version integer PRIMARY KEY, description text,
    applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Set((await db.query<{ version: number }>("SELECT version FROM autocnet_schema")).map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version) || (m.postgis && !db.postgis)) continue;
    await db.query("BEGIN");
    try {
      for (const statement of splitSql(m.sql)) await db.query(statement);
      await db.query("INSERT INTO autocnet_schema (version, description) VALUES ($1, $2)", [m.version, m.description]);
      await db.query("COMMIT");
    } catch (err) {
      await db.query("ROLLBACK").catch(() => {});
      throw new Error(`database ${db.where}: schema migration ${m.version} (${m.description}) failed: ${(err as Error).message}`);
    }
    applied.push(m.version);
  }
  return applied;
}

/** Splits on semicolons outside $$-quoted bodies. */
function splitSql(sql: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inDollar = false;
  for (let i = 0; i < sql.length; i++) {
    if (sql.startsWith("$$", i)) {
      inDollar = !inDollar;
      cur += "$$";
      i++;
      continue;
    }
    if (sql[i] === ";" && !inDollar) {
      if (cur.trim()) out.push(cur.trim());
      cur = "";
    } else cur += sql[i];
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}
