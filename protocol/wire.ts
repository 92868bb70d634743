// The Jupyter wire codec: `<IDS|MSG>` framing and HMAC-SHA256 signing.
//
// Pure functions over Buffers, no sockets. The signature is verified over the
// exact bytes received (never over re-serialised JSON), compared in constant
// time. An empty key means the connection is unsigned, as the spec says.
// `decode` never throws: a malformed or badly signed message becomes a typed
// failure the caller can log and drop.
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Header, Message } from "./messages.js";

export const DELIMITER = "<IDS|MSG>";
const DELIMITER_BYTES = Buffer.from(DELIMITER, "utf8");

/** Why a multipart message was refused. Stable codes, for logs and tests. */
export type DecodeFailure = "no-delimiter" | "missing-parts" | "bad-signature" | "replayed" | "bad-json" | "bad-header";

export type DecodeResult =
  | { ok: true; identities: Buffer[]; msg: Message }
  | { ok: false; reason: DecodeFailure; detail: string; identities: Buffer[] };

/** Hex HMAC-SHA256 of the four JSON parts; "" when the key is empty (unsigned). */
export function sign(key: string | Buffer, parts: readonly Buffer[]): string {
  if (key.length === 0) return "";
  const hmac = createHmac("sha256", key);
  for (const p of parts) hmac.update(p);
  return hmac.digest("hex");
}

/** Constant-time check of a received hex signature against the parts it covers. */
export function verify(key: string | Buffer, signature: Buffer, parts: readonly Buffer[]): boolean {
  if (key.length === 0) return true;
  const expected = Buffer.from(sign(key, parts), "utf8");
  // timingSafeEqual requires equal lengths; a length mismatch reveals nothing secret.
  if (signature.length !== expected.length) return false;
  return timingSafeEqual(signature, expected);
}

/** Serialises and signs a message into ZeroMQ frames (identities first for ROUTER). */
export function encode(msg: Message, key: string | Buffer, identities: readonly Buffer[] = []): Buffer[] {
  const parts = [
    Buffer.from(JSON.stringify(msg.header), "utf8"),
    Buffer.from(JSON.stringify(msg.parent_header ?? {}), "utf8"),
    Buffer.from(JSON.stringify(msg.metadata ?? {}), "utf8"),
    Buffer.from(JSON.stringify(msg.content ?? {}), "utf8"),
  ];
  return [...identities, DELIMITER_BYTES, Buffer.from(sign(key, parts), "utf8"), ...parts, ...(msg.buffers ?? [])];
}

/**
 * Signatures already accepted, so that a captured message sent again is refused, as Jupyter's
 * Session does. Bounded: when full, the oldest tenth is forgotten (a Set keeps insertion order).
 */
export class SignatureHistory {
  private readonly seen = new Set<string>();
  constructor(readonly capacity = 65_536) {}

  /** Records a signature; false when it was seen before. */
  accept(signature: string): boolean {
    if (this.seen.has(signature)) return false;
    if (this.seen.size >= this.capacity) {
      let drop = Math.ceil(this.capacity / 10);
      for (const old of this.seen) {
        if (drop-- <= 0) break;
        this.seen.delete(old);
      }
    }
    this.seen.add(signature);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/**
 * Parses and verifies received frames. Never throws. With a history, a signed message whose
 * signature was accepted before is refused as "replayed" (unsigned sessions have none to track).
 */
export function decode(frames: readonly Buffer[], key: string | Buffer, history?: SignatureHistory): DecodeResult {
  const at = frames.findIndex((f) => f.equals(DELIMITER_BYTES));
  if (at < 0) return fail("no-delimiter", "no <IDS|MSG> delimiter frame", []);
  const identities = frames.slice(0, at).map((f) => Buffer.from(f));
  if (frames.length < at + 6) {
    return fail("missing-parts", `expected signature + 4 JSON parts after the delimiter, got ${frames.length - at - 1}`, identities);
  }
  const signature = frames[at + 1];
  const parts = frames.slice(at + 2, at + 6);
  if (!verify(key, signature, parts)) {
    return fail("bad-signature", signature.length === 0 ? "missing signature" : "signature does not match", identities);
  }
  if (history && signature.length > 0 && !history.accept(signature.toString("latin1")))
    return fail("replayed", "a message with this signature was already received", identities);
  let json: unknown[];
  try {
    json = parts.map((p) => JSON.parse(p.toString("utf8")));
  } catch (e) {
    return fail("bad-json", (e as Error).message, identities);
  }
  const [header, parent, metadata, content] = json;
  if (!isHeader(header)) return fail("bad-header", "header lacks msg_id, msg_type or session", identities);
  if (!isObject(parent) || !isObject(metadata) || !isObject(content)) {
    return fail("bad-json", "parent_header, metadata and content must be JSON objects", identities);
  }
  const msg: Message = {
    header,
    parent_header: parent as Partial<Header>,
    metadata: metadata as Record<string, unknown>,
    content: content as Record<string, unknown>,
    buffers: frames.slice(at + 6).map((f) => Buffer.from(f)),
  };
  return { ok: true, identities, msg };
}

function fail(reason: DecodeFailure, detail: string, identities: Buffer[]): DecodeResult {
  return { ok: false, reason, detail, identities };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isHeader(v: unknown): v is Header {
  return isObject(v) && typeof v.msg_id === "string" && typeof v.msg_type === "string" && typeof v.session === "string";
}
