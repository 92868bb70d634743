// The one redaction primitive: what counts as a secret, and how text, keys, bytes, URIs and
// whole objects lose it. Secrets are the values of environment variables whose names look
// like secrets (*TOKEN*, *SECRET*, *PASSWORD*, *PASSWD*, *KEY*, *CREDENTIAL*) and the
// credentials written into URIs (`http://user:pass@host`). It is applied at the few choke
// points everything outgoing passes (the tracking port the magics log through, artifact
// uploads, the notebook and page `tslab-mlflow run` uploads, the summary/status renderers,
// exported pages), never at each call site.

export const REDACTED = "[REDACTED]";
/** What replaces a secret inside a metric/param/tag key or an artifact path (brackets are not allowed there). */
export const REDACTED_KEY = "REDACTED";

const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;
// Values shorter than this are not treated as secrets: "1", "yes" or "dev" would otherwise be
// blanked out of ordinary text everywhere (every "1" in every metric name and output), while
// real secrets are longer.
export const MIN_SECRET_LENGTH = 4;
// `scheme://userinfo@`: the userinfo part (a user alone may be a token, as in https://TOKEN@host).
const URI_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@"'<>]+)@/gi;

/** How redactedNames() reports credentials found in URIs. */
export const URI_CREDENTIALS = "credentials in URIs";

export const looksSecret = (name: string): boolean => SECRET_NAME.test(name);

type Env = Record<string, string | undefined>;

interface Secret {
  value: string;
  names: string[];
}

export class Redactor {
  /** Longest first, so a secret that contains another is replaced whole. */
  private readonly secrets: Secret[];
  /** Names of the variables whose values were found and replaced so far. */
  private readonly hits = new Set<string>();

  constructor(env: Env = process.env) {
    const byValue = new Map<string, string[]>();
    const add = (value: string | undefined, name: string) => {
      if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH) return;
      byValue.set(value, [...(byValue.get(value) ?? []), name]);
    };
    for (const [name, value] of Object.entries(env)) {
      if (looksSecret(name)) add(value, name);
      // A password in a URI variable (MLFLOW_TRACKING_URI=http://user:pass@host) is a secret
      // wherever it shows up, also outside the URI.
      if (typeof value === "string" && value.includes("://")) {
        for (const m of value.matchAll(URI_USERINFO)) {
          const info = m[2]!;
          const colon = info.indexOf(":");
          if (colon >= 0) add(safeDecode(info.slice(colon + 1)), name);
        }
      }
    }
    this.secrets = [...byValue].map(([value, names]) => ({ value, names })).sort((a, b) => b.value.length - a.value.length);
  }

  /** True when there is nothing to redact but URI credentials. */
  get empty(): boolean {
    return this.secrets.length === 0;
  }

  /** Names of the variables whose values were replaced so far (for "what was redacted" notes). */
  redactedNames(): string[] {
    return [...this.hits].sort();
  }

  private replace(s: string, by: string): string {
    let out = s;
    if (s.includes("://")) {
      out = s.replace(URI_USERINFO, (m, scheme: string, info: string) => {
        if (info === by) return m;
        this.hits.add(URI_CREDENTIALS);
        return `${scheme}${by}@`;
      });
    }
    for (const { value, names } of this.secrets) {
      if (!out.includes(value)) continue;
      out = out.split(value).join(by);
      names.forEach((n) => this.hits.add(n));
    }
    return out;
  }

  /** Text with every secret value and every URI credential replaced by [REDACTED]. */
  text(s: string): string {
    return typeof s === "string" && s.length > 0 ? this.replace(s, REDACTED) : s;
  }

  /** A metric/param/tag key or an artifact path: secrets replaced by a word that keeps it valid. */
  key(s: string): string {
    return typeof s === "string" && s.length > 0 ? this.replace(s, REDACTED_KEY) : s;
  }

  /** A URI for display: credentials never shown. */
  uri(s: string): string {
    return this.text(s);
  }

  /** A param or tag value: all of it when its key names a secret (`api_key`), else secrets inside. */
  value(key: string, value: string): string {
    if (typeof key === "string" && looksSecret(key) && !key.startsWith("mlflow.") && typeof value === "string" && value.length > 0)
      return REDACTED;
    return this.text(value);
  }

  /** Bytes that are UTF-8 text are redacted as text; other bytes (images) pass unchanged. */
  bytes(data: Uint8Array | string): Uint8Array | string {
    if (typeof data === "string") return this.text(data);
    if (data.length === 0 || (this.secrets.length === 0 && !hasScheme(data))) return data;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(data);
    } catch {
      return data;
    }
    if (text.includes("\u0000")) return data;
    const out = this.text(text);
    return out === text ? data : Buffer.from(out, "utf8");
  }

  /**
   * Any value, deeply: strings as text, `{ key, value }` entities (metrics, params, tags) with
   * their key kept valid and a secret-named key's value hidden, bytes as text when they are.
   * Plain objects and arrays are copied; other objects (class instances) pass unchanged.
   */
  deep<T>(v: T): T {
    return this.walk(v, 0) as T;
  }

  private walk(v: unknown, depth: number): unknown {
    if (depth > 20) return v;
    if (typeof v === "string") return this.text(v);
    if (v instanceof Uint8Array) return this.bytes(v);
    if (Array.isArray(v)) return v.map((x) => this.walk(x, depth + 1));
    if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return v;
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    const entity = typeof o.key === "string";
    for (const [k, x] of Object.entries(o)) {
      if (entity && k === "key") out[k] = this.key(x as string);
      else if (entity && k === "value" && typeof x === "string") out[k] = this.value(o.key as string, x);
      else out[k] = this.walk(x, depth + 1);
    }
    return out;
  }
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Cheap pre-check: bytes can hold URI credentials only if they hold "://". */
function hasScheme(data: Uint8Array): boolean {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).includes("://");
}
