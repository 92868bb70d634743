import { describe, expect, it } from "vitest";
import { createHmac } from "node:crypto";
import { decode, encode, sign, SignatureHistory } from "../../protocol/wire.js";
import { newHeader, type Message } from "../../protocol/messages.js";

const msg = (): Message => ({
  header: newHeader("execute_request", "s1", "u"),
  parent_header: {},
  metadata: { cellId: "c1" },
  content: { code: "1+1" },
});

describe("wire codec", () => {
  it("round-trips a signed message with identities", () => {
    const m = msg();
    const frames = encode(m, "secret", [Buffer.from("id1")]);
    expect(frames[0].toString()).toBe("id1");
    expect(frames[1].toString()).toBe("<IDS|MSG>");
    const expected = createHmac("sha256", "secret")
      .update(frames[2 + 1])
      .update(frames[4])
      .update(frames[5])
      .update(frames[6])
      .digest("hex");
    expect(frames[2].toString()).toBe(expected);
    const r = decode(frames, "secret");
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.identities.map(String)).toEqual(["id1"]);
      expect(r.msg.content).toEqual({ code: "1+1" });
      expect(r.msg.metadata).toEqual({ cellId: "c1" });
    }
  });

  it("verifies the exact received bytes, not re-serialised JSON", () => {
    // Whitespace a re-serialiser would drop is still covered by the signature.
    const parts = [JSON.stringify(msg().header, null, 1), "{}", "{ }", '{"code": "2"}'].map((s) => Buffer.from(s));
    const frames = [Buffer.from("<IDS|MSG>"), Buffer.from(sign("k", parts)), ...parts];
    expect(decode(frames, "k").ok).toBe(true);
  });

  it("refuses a bad, missing or wrong-length signature", () => {
    const frames = encode(msg(), "secret");
    expect(decode(frames, "other")).toMatchObject({ ok: false, reason: "bad-signature" });
    const missing = [...frames];
    missing[1] = Buffer.alloc(0);
    expect(decode(missing, "secret")).toMatchObject({ ok: false, reason: "bad-signature" });
    const short = [...frames];
    short[1] = Buffer.from("abc");
    expect(decode(short, "secret")).toMatchObject({ ok: false, reason: "bad-signature" });
    const tampered = [...frames];
    tampered[5] = Buffer.from('{"code":"rm"}');
    expect(decode(tampered, "secret")).toMatchObject({ ok: false, reason: "bad-signature" });
  });

  it("treats an empty key as unsigned", () => {
    const frames = encode(msg(), "");
    expect(frames[1].length).toBe(0);
    expect(decode(frames, "").ok).toBe(true);
  });

  it("returns typed failures for malformed frames and never throws", () => {
    expect(decode([], "k")).toMatchObject({ ok: false, reason: "no-delimiter" });
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.from("")], "")).toMatchObject({ ok: false, reason: "missing-parts" });
    const bad = ["not json", "{}", "{}", "{}"].map((s) => Buffer.from(s));
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.alloc(0), ...bad], "")).toMatchObject({ ok: false, reason: "bad-json" });
    const noHeader = ["{}", "{}", "{}", "{}"].map((s) => Buffer.from(s));
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.alloc(0), ...noHeader], "")).toMatchObject({ ok: false, reason: "bad-header" });
    const arr = [JSON.stringify(msg().header), "[]", "{}", "{}"].map((s) => Buffer.from(s));
    expect(decode([Buffer.from("<IDS|MSG>"), Buffer.alloc(0), ...arr], "")).toMatchObject({ ok: false, reason: "bad-json" });
  });
});

describe("signature history", () => {
  const msg = (id: string) => ({
    header: { msg_id: id, msg_type: "kernel_info_request", session: "s", username: "u", date: "", version: "5.3" },
    parent_header: {},
    metadata: {},
    content: {},
  });

  it("refuses a signed message seen before, and not an unsigned one", () => {
    const history = new SignatureHistory();
    const frames = encode(msg("a") as any, "k");
    expect(decode(frames, "k", history).ok).toBe(true);
    expect(decode(frames, "k", history)).toMatchObject({ ok: false, reason: "replayed" });
    expect(decode(encode(msg("b") as any, "k"), "k", history).ok).toBe(true);
    const unsigned = encode(msg("c") as any, "");
    expect(decode(unsigned, "", history).ok).toBe(true);
    expect(decode(unsigned, "", history).ok).toBe(true);
  });

  it("is bounded: when full it forgets its oldest tenth", () => {
    const history = new SignatureHistory(100);
    for (let i = 0; i < 100; i++) expect(history.accept(`s${i}`)).toBe(true);
    expect(history.accept("s100")).toBe(true);
    expect(history.size).toBe(91);
    expect(history.accept("s0")).toBe(true);
    expect(history.accept("s50")).toBe(false);
  });
});
