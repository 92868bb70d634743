// Checks the content of every message the kernel takes, against its type in the message
// maps (messages.ts), once, when it arrives: a missing or wrong-typed field becomes a
// ContentError naming the message, the field, what it must be and what came, so the
// dispatcher can answer it with an error reply and no handler ever sees it. Each check is
// typed to return its map's content type, so the checks and the maps cannot drift apart.
//
// Optional fields may also be `null` (what Python frontends send for None): that reads as
// absent. Fields nobody reads are not checked, and unknown fields are let through.
import type { ChannelMessages, ControlChannel, ShellChannel } from "./messages.js";

/** A field of a message's content is missing or of the wrong type. */
export class ContentError extends TypeError {
  readonly code = "BAD_CONTENT";
  constructor(
    readonly msgType: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** One check per msg_type of a channel: raw content in, typed content out (or a ContentError). */
export type ContentChecks<M extends ChannelMessages<M>> = { [K in keyof M]: (content: Record<string, unknown>) => M[K][0] };

type Raw = Record<string, unknown>;

/** Reads the fields of one message's content; every complaint names the message and the field. */
class Fields {
  constructor(
    private readonly msgType: string,
    private readonly raw: Raw,
  ) {}

  string(field: string): string {
    const v = this.raw[field];
    return typeof v === "string" ? v : this.fail(field, "a string", v);
  }

  optString(field: string): string | undefined {
    return this.given(field) ? this.string(field) : undefined;
  }

  optBoolean(field: string): boolean | undefined {
    const v = this.raw[field];
    if (!this.given(field)) return undefined;
    return typeof v === "boolean" ? v : this.fail(field, "a boolean", v);
  }

  optInteger(field: string, min = -Infinity): number | undefined {
    const v = this.raw[field];
    if (!this.given(field)) return undefined;
    if (typeof v === "number" && Number.isInteger(v) && v >= min) return v;
    return this.fail(field, min === 0 ? "a non-negative integer" : "an integer", v);
  }

  oneOf<T extends string | number>(field: string, values: readonly T[]): T {
    const v = this.raw[field];
    const found = values.find((x) => x === v);
    return found !== undefined ? found : this.fail(field, `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v);
  }

  optOneOf<T extends string | number>(field: string, values: readonly T[]): T | undefined {
    return this.given(field) ? this.oneOf(field, values) : undefined;
  }

  optObject(field: string): Record<string, unknown> | undefined {
    const v = this.raw[field];
    if (!this.given(field)) return undefined;
    return isObject(v) ? v : this.fail(field, "an object", v);
  }

  /** An object whose values are all strings (user_expressions). */
  optStringRecord(field: string): Record<string, string> | undefined {
    const o = this.optObject(field);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o)) out[k] = typeof v === "string" ? v : this.fail(`${field}.${k}`, "a string", v);
    return out;
  }

  private given(field: string): boolean {
    return this.raw[field] !== undefined && this.raw[field] !== null;
  }

  private fail(field: string, expected: string, got: unknown): never {
    const what = `${this.msgType} content.${field}`;
    throw new ContentError(
      this.msgType,
      field,
      got === undefined ? `${what} is missing (it must be ${expected})` : `${what} must be ${expected}, got ${JSON.stringify(got)}`,
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

const noFields = () => ({});

export const shellContent: ContentChecks<ShellChannel> = {
  kernel_info_request: noFields,
  execute_request: (c) => {
    const f = new Fields("execute_request", c);
    return {
      code: f.string("code"),
      silent: f.optBoolean("silent"),
      store_history: f.optBoolean("store_history"),
      user_expressions: f.optStringRecord("user_expressions"),
      allow_stdin: f.optBoolean("allow_stdin"),
      stop_on_error: f.optBoolean("stop_on_error"),
    };
  },
  complete_request: (c) => {
    const f = new Fields("complete_request", c);
    return { code: f.string("code"), cursor_pos: f.optInteger("cursor_pos", 0) };
  },
  inspect_request: (c) => {
    const f = new Fields("inspect_request", c);
    return { code: f.string("code"), cursor_pos: f.optInteger("cursor_pos", 0), detail_level: f.optOneOf("detail_level", [0, 1] as const) };
  },
  is_complete_request: (c) => ({ code: new Fields("is_complete_request", c).string("code") }),
  history_request: (c) => {
    const f = new Fields("history_request", c);
    return {
      hist_access_type: f.oneOf("hist_access_type", ["range", "tail", "search"] as const),
      output: f.optBoolean("output"),
      raw: f.optBoolean("raw"),
      session: f.optInteger("session"),
      start: f.optInteger("start"),
      stop: f.optInteger("stop"),
      n: f.optInteger("n"),
      pattern: f.optString("pattern"),
      unique: f.optBoolean("unique"),
    };
  },
  comm_info_request: (c) => ({ target_name: new Fields("comm_info_request", c).optString("target_name") }),
  comm_open: (c) => {
    const f = new Fields("comm_open", c);
    return { comm_id: f.string("comm_id"), target_name: f.string("target_name"), data: f.optObject("data") ?? {} };
  },
  comm_msg: (c) => {
    const f = new Fields("comm_msg", c);
    return { comm_id: f.string("comm_id"), data: f.optObject("data") ?? {} };
  },
  comm_close: (c) => {
    const f = new Fields("comm_close", c);
    return { comm_id: f.string("comm_id"), data: f.optObject("data") ?? {} };
  },
};

export const controlContent: ContentChecks<ControlChannel> = {
  kernel_info_request: noFields,
  shutdown_request: (c) => ({ restart: new Fields("shutdown_request", c).optBoolean("restart") }),
  interrupt_request: noFields,
};
