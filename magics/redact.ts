// Keeps secrets out of the tracking store. Environment variables whose names look like
// secrets (*TOKEN*, *SECRET*, *PASSWORD*, *KEY*) have their values replaced wherever text is
// logged (params, tags, text artifacts, cell source), and params/tags whose own key looks
// like a secret are logged with a redacted value.

export const REDACTED = "[REDACTED]";
const SECRET_NAME = /TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL/i;
// Short values ("1", "true") would blank out ordinary text everywhere; real secrets are longer.
const MIN_SECRET_LENGTH = 6;

export const looksSecret = (name: string): boolean => SECRET_NAME.test(name);

export class Redactor {
  private readonly values: string[];

  constructor(env: Record<string, string | undefined> = process.env) {
    this.values = Object.entries(env)
      .filter(([k, v]) => looksSecret(k) && typeof v === "string" && v.length >= MIN_SECRET_LENGTH)
      .map(([, v]) => v as string)
      // Longest first, so a secret that contains another is replaced whole.
      .sort((a, b) => b.length - a.length);
  }

  /** The text with every secret value replaced. */
  text(s: string): string {
    if (this.values.length === 0 || s.length === 0) return s;
    let out = s;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join(REDACTED);
    return out;
  }

  /** A param or tag value: fully redacted when its key looks secret, else secrets inside replaced. */
  value(key: string, value: string): string {
    if (looksSecret(key) && !key.startsWith("mlflow.") && value.length > 0) return REDACTED;
    return this.text(value);
  }

  /** Bytes are redacted only when they are UTF-8 text. */
  bytes(data: Uint8Array | string): Uint8Array | string {
    if (typeof data === "string") return this.text(data);
    return data;
  }
}
