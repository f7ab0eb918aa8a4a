/**
 * Secrets never reach a message, a log line or an error: every text that can show a URL or a config value
 * passes through `maskSecrets` first. It imports nothing, so every layer can use it.
 */

/** What a hidden value reads as. */
export const MASK = "***";

/** Names whose values are secrets: config keys, URL query parameters, `key=value` / `key: value` pairs. */
const SECRET_NAME = /pass(word|wd|phrase)?|pwd|secret|token|credential|api[-_]?key|private[-_]?key|access[-_]?key|sslkey|^key$|^auth$/i;

/** Whether a config key or parameter name holds a secret (password, secret, token, key, …). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

export interface MaskOptions {
  /** The key this value sits under (a whole value under a secret-named key is hidden). */
  key?: string;
  /** Literal secrets known to the caller (a configured password): hidden wherever they appear, also URL-encoded. */
  known?: Iterable<string | number | undefined | null>;
}

/**
 * The one masking function. For text: the password of every URL's user-info (any characters, an unencoded
 * `@` included: user-info ends at the last `@`), secret query parameters (`?password=`, `&sslpassword=`,
 * `token`, `key`, …), `name=value` and `name: value` pairs with secret names (libpq DSNs, YAML, JSON), and
 * any literal `known` secret. Schemes may carry a driver (`postgresql+psycopg2://`, `redis+tls://`). For any
 * other value: its JSON with secret-named keys hidden and every string masked as text. Returns text.
 */
export function maskSecrets(value: unknown, options: MaskOptions = {}): string {
  if (options.key !== undefined && isSecretName(lastSegment(options.key)) && value !== undefined && value !== null && value !== "") return MASK;
  if (typeof value === "string") return maskText(value, options.known);
  let json: string | undefined;
  try {
    json = JSON.stringify(value, function (this: unknown, k: string, v: unknown) {
      if (k !== "" && isSecretName(k) && v !== undefined && v !== null && v !== "" && (typeof v !== "object" || Array.isArray(v))) return MASK;
      return typeof v === "string" ? maskText(v, options.known) : v;
    });
  } catch {
    json = undefined;
  }
  return maskText(json ?? String(value), options.known);
}

/**
 * The secrets one URL (a whole value, such as redis.url or database) carries, read leniently so that even a
 * URL no parser accepts (a space or an unencoded `@` in its password) gives them up: the password of its
 * user-info (everything between the first `:` and the last `@`) and the values of secret query parameters.
 * Pass them as `known` to maskSecrets, so they are hidden wherever a message repeats them.
 */
export function secretsOfUrl(url: string): string[] {
  const out: string[] = [];
  const m = /^\s*[A-Za-z][A-Za-z0-9+.-]*:\/\/(.*)$/s.exec(url);
  if (!m) return out;
  const add = (v: string) => {
    out.push(v);
    try {
      out.push(decodeURIComponent(v));
    } catch {
      // not percent-encoded
    }
  };
  // secret query parameters first: their values may hold @ and :, which would mislead the user-info below
  const rest = m[1].replace(QUERY_PARAM, (all, sep: string, name: string, value: string) => {
    if (!isSecretName(name)) return all;
    if (value) add(value);
    return `${sep}${name}=`;
  });
  const at = rest.lastIndexOf("@");
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    if (colon !== -1 && colon < userinfo.length - 1) add(userinfo.slice(colon + 1));
  }
  return [...new Set(out)].filter((s) => s.length > 0);
}

function lastSegment(key: string): string {
  const i = key.lastIndexOf(".");
  return i === -1 ? key : key.slice(i + 1);
}

/** A URL: scheme (with an optional +driver) and :// then everything up to white space or a quote. */
const URL_TOKEN = /\b([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s"'<>`]*)/g;
/** A query parameter inside a URL (the value may hold `@`, `:`, `/`, `?` and an unencoded `#`). */
const QUERY_PARAM = /([?&;])([^=&;?#\s]+)=([^&;\s]*)/g;
/** `name=value` or `name: value` in free text; the name starts at a word boundary that is not a dotted path. */
const PAIR = /(^|[\s{,;&?([])(["']?)([A-Za-z_][\w-]*)\2(\s*[:=]\s*)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,;&}\])]+)/g;

function maskText(text: string, known?: MaskOptions["known"]): string {
  let out = text;
  // literal secrets first: they may contain anything, including what the patterns below stop at
  const forms = new Set<string>();
  for (const k of known ?? []) {
    if (k === undefined || k === null) continue;
    const s = String(k);
    if (s.length < 3) continue;
    for (const form of [s, encodeURIComponent(s), encodeURI(s)]) forms.add(form);
  }
  for (const form of [...forms].sort((a, b) => b.length - a.length)) out = out.split(form).join(MASK);
  out = out.replace(URL_TOKEN, (_all, scheme: string, rest: string) => `${scheme}://${maskUrlRest(rest)}`);
  out = out.replace(PAIR, (all, lead: string, quote: string, name: string, sep: string, val: string) => {
    if (!isSecretName(name) || val.startsWith(MASK) || val === '""' || val === "''") return all;
    const q = val[0] === '"' || val[0] === "'" ? val[0] : "";
    return `${lead}${quote}${name}${quote}${sep}${q}${MASK}${q}`;
  });
  return out;
}

/** The part of a URL after `scheme://`: secret query parameters, then the password of the user-info. */
function maskUrlRest(rest: string): string {
  let r = rest.replace(QUERY_PARAM, (all, sep: string, name: string) => (isSecretName(name) ? `${sep}${name}=${MASK}` : all));
  const at = r.lastIndexOf("@");
  if (at === -1) return r;
  const userinfo = r.slice(0, at);
  const colon = userinfo.indexOf(":");
  if (colon === -1) return r; // a user name alone
  const user = userinfo.slice(0, colon);
  // a user name holds none of / ? # (else the @ was in a path or query, and all before it is hidden)
  r = /[/?#]/.test(user) ? `${MASK}${r.slice(at)}` : `${user}:${MASK}${r.slice(at)}`;
  return r;
}
