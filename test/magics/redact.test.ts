// The one redaction primitive (magics/redact.ts): which values count as secrets, and how text,
// keys, URIs, bytes and whole entities lose them.

import { describe, expect, it } from "vitest";
import { MIN_SECRET_LENGTH, REDACTED, REDACTED_KEY, Redactor, URI_CREDENTIALS } from "../../magics/redact.js";
import { validateMetric } from "../../tracking/index.js";

const env = {
  MY_API_TOKEN: "tok-1234567890",
  DB_PASSWORD: "hunter2-db",
  AWS_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG+bPxRfiCY",
  GITHUB_CREDENTIALS: "ghp_abcdefgh",
  SHORT_KEY: "abc",
  PATH: "/usr/bin",
  MLFLOW_TRACKING_URI: "http://alice:pa%24%24word@tracking.example:5000",
};

describe("Redactor", () => {
  const r = new Redactor(env);

  it("replaces the value of every secret-named variable, and only those", () => {
    const s = `a ${env.MY_API_TOKEN} b ${env.DB_PASSWORD} c ${env.AWS_SECRET_ACCESS_KEY} d ${env.GITHUB_CREDENTIALS} /usr/bin`;
    expect(r.text(s)).toBe(`a ${REDACTED} b ${REDACTED} c ${REDACTED} d ${REDACTED} /usr/bin`);
  });

  it(`leaves values shorter than ${MIN_SECRET_LENGTH} characters alone (they would blank out ordinary text)`, () => {
    expect(r.text("abc and abcd")).toBe("abc and abcd");
  });

  it("never shows URI credentials, and knows the URI's password as a secret elsewhere too", () => {
    expect(r.uri("http://alice:pa%24%24word@tracking.example:5000/api")).toBe(`http://${REDACTED}@tracking.example:5000/api`);
    expect(r.text("see https://TOKEN0123@github.com/x and ftp://u:p@h")).toBe(
      `see https://${REDACTED}@github.com/x and ftp://${REDACTED}@h`,
    );
    expect(r.text("the password is pa$$word")).toBe(`the password is ${REDACTED}`);
    // Applying it twice changes nothing.
    expect(r.text(r.text("http://a:b@h"))).toBe(`http://${REDACTED}@h`);
  });

  it("keeps keys valid: a metric key with a secret in it is still accepted", () => {
    const key = r.key(`loss_${env.MY_API_TOKEN}`);
    expect(key).toBe(`loss_${REDACTED_KEY}`);
    expect(() => validateMetric({ key, value: 1, step: 0, timestamp: 1 })).not.toThrow();
  });

  it("hides a secret-named param's whole value, but not mlflow.* tags", () => {
    expect(r.value("api_key", "anything-at-all")).toBe(REDACTED);
    expect(r.value("lr", "0.1")).toBe("0.1");
    expect(r.value("mlflow.source.git.commit", "abcdef")).toBe("abcdef");
  });

  it("redacts bytes that are UTF-8 text and passes other bytes unchanged", () => {
    const text = Buffer.from(`token=${env.MY_API_TOKEN}\n`);
    expect(Buffer.from(r.bytes(text) as Uint8Array).toString()).toBe(`token=${REDACTED}\n`);
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe]), Buffer.from(env.MY_API_TOKEN)]);
    expect(r.bytes(png)).toBe(png);
  });

  it("walks entities: keys stay valid, values lose secrets, class instances pass", () => {
    const batch = {
      metrics: [{ key: `m_${env.DB_PASSWORD}`, value: 1, step: 0, timestamp: 1 }],
      params: [
        { key: "p", value: `x${env.DB_PASSWORD}` },
        { key: "db_password", value: "plain" },
      ],
      tags: [{ key: "t", value: env.AWS_SECRET_ACCESS_KEY }],
    };
    expect(r.deep(batch)).toEqual({
      metrics: [{ key: `m_${REDACTED_KEY}`, value: 1, step: 0, timestamp: 1 }],
      params: [
        { key: "p", value: `x${REDACTED}` },
        { key: "db_password", value: REDACTED },
      ],
      tags: [{ key: "t", value: REDACTED }],
    });
    const d = new Date();
    expect(r.deep({ when: d }).when).toBe(d);
  });

  it("says by variable name what it replaced", () => {
    const fresh = new Redactor(env);
    fresh.text(`${env.DB_PASSWORD} http://u:v@h`);
    expect(fresh.redactedNames()).toEqual(["DB_PASSWORD", URI_CREDENTIALS]);
  });
});
