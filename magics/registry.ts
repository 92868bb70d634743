// The table of magics. Each entry says its name, kind, usage and options; option parsing
// (node's util.parseArgs), `%lsmagic`, `%help name` and `%name?` are all generated from it,
// so a magic is one object and its help can never drift from what it accepts.

import { parseArgs } from "node:util";
import type { MagicCall } from "./parse.js";

export interface OptionSpec {
  type: "string" | "boolean";
  multiple?: boolean;
  short?: string;
  /** Shown in help, e.g. `k=v`. */
  value?: string;
  description: string;
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

export interface Invocation {
  values: OptionValues;
  positionals: string[];
  /** The cell magic's body (undefined for line magics). */
  body: string | undefined;
  call: MagicCall;
}

export interface Magic<C = unknown> {
  name: string;
  kind: "line" | "cell";
  summary: string;
  /** Argument synopsis after the name, e.g. `[NAME] [--nested]`. */
  usage: string;
  options: Record<string, OptionSpec>;
  /** Most positionals accepted (default 0). */
  maxPositionals?: number;
  /** Refuses bad values (beyond option shapes) before any magic of the cell runs or sends anything. */
  check?(inv: Invocation): void;
  run(inv: Invocation, ctx: C): Promise<void>;
}

export type MagicErrorCode = "UNKNOWN_MAGIC" | "BAD_OPTION" | "BAD_ARGUMENT" | "WRONG_KIND";

/** Bad input to a magic: the message names what was wrong and what is accepted. */
export class MagicError extends Error {
  override name = "MagicError";
  constructor(readonly code: MagicErrorCode, message: string) {
    super(message);
  }
}

const prefix = (m: { kind: "line" | "cell" }) => (m.kind === "cell" ? "%%" : "%");

export class MagicRegistry<C = unknown> {
  private readonly magics = new Map<string, Magic<C>>();

  register(...magics: Magic<C>[]): this {
    for (const m of magics) this.magics.set(m.name, m);
    return this;
  }

  get(name: string): Magic<C> | undefined {
    return this.magics.get(name);
  }

  list(): Magic<C>[] {
    return [...this.magics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The magic a call names, or a MagicError listing what exists. */
  resolve(call: MagicCall): Magic<C> {
    const magic = this.magics.get(call.name);
    const p = call.kind === "cell" ? "%%" : "%";
    if (!magic) {
      throw new MagicError("UNKNOWN_MAGIC",
        `Unknown magic ${p}${call.name}. Available: ${this.list().map((m) => prefix(m) + m.name).join(", ")}.`);
    }
    if (magic.kind !== call.kind) {
      throw new MagicError("WRONG_KIND",
        `${p}${call.name} is not a ${call.kind} magic; write it as ${prefix(magic)}${magic.name} ${magic.usage}`.trimEnd() + ".");
    }
    return magic;
  }

  /** Parses a call's argv against the magic's options, naming any bad option and the accepted ones. */
  parse(magic: Magic<C>, call: MagicCall, body?: string): Invocation {
    const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {};
    for (const [name, spec] of Object.entries(magic.options)) {
      options[name] = { type: spec.type, ...(spec.multiple ? { multiple: true } : {}), ...(spec.short ? { short: spec.short } : {}) };
    }
    let parsed: { values: OptionValues; positionals: string[] };
    try {
      parsed = parseArgs({ args: call.argv, options, strict: true, allowPositionals: true }) as typeof parsed;
    } catch (err) {
      throw new MagicError("BAD_OPTION", `${describeParseError(err)} for ${prefix(magic)}${magic.name}. ${this.accepted(magic)}`);
    }
    const max = magic.maxPositionals ?? 0;
    if (parsed.positionals.length > max) {
      const extra = parsed.positionals.slice(max).map((p) => JSON.stringify(p)).join(" ");
      throw new MagicError("BAD_ARGUMENT",
        `Unexpected argument ${extra} for ${prefix(magic)}${magic.name} (it takes ${max === 0 ? "no" : `at most ${max}`} positional argument${max === 1 ? "" : "s"}). Usage: ${this.synopsis(magic)}`);
    }
    return { values: parsed.values, positionals: parsed.positionals, body, call };
  }

  accepted(magic: Magic<C>): string {
    const names = Object.keys(magic.options).map((n) => "--" + n);
    return names.length ? `Accepted options: ${names.join(", ")}.` : "It accepts no options.";
  }

  synopsis(magic: Magic<C>): string {
    return `${prefix(magic)}${magic.name} ${magic.usage}`.trimEnd();
  }

  /** `%lsmagic`: every magic with its one-line summary. */
  lsmagic(): string {
    const rows = this.list().map((m) => [prefix(m) + m.name, m.summary] as const);
    const width = Math.max(...rows.map(([n]) => n.length));
    const lines = rows.map(([n, s]) => `  ${n.padEnd(width)}  ${s}`);
    return ["Available magics (`%name?` or `%help name` for details):", ...lines].join("\n");
  }

  /** `%help name` / `%name?`: usage, summary and options. */
  help(name: string): string {
    const magic = this.magics.get(name.replace(/^%+/, ""));
    if (!magic) {
      throw new MagicError("UNKNOWN_MAGIC",
        `Unknown magic ${JSON.stringify(name)}. Available: ${this.list().map((m) => prefix(m) + m.name).join(", ")}.`);
    }
    const lines = [`Usage: ${this.synopsis(magic)}`, "", magic.summary];
    const opts = Object.entries(magic.options);
    if (opts.length) {
      lines.push("", "Options:");
      const left = opts.map(([n, s]) => `--${n}${s.type === "string" ? ` ${s.value ?? "VALUE"}` : ""}${s.short ? `, -${s.short}` : ""}`);
      const width = Math.max(...left.map((l) => l.length));
      opts.forEach(([, s], i) => lines.push(`  ${left[i]!.padEnd(width)}  ${s.description}${s.multiple ? " (repeatable)" : ""}`));
    }
    return lines.join("\n");
  }
}

function describeParseError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  const msg = String(e.message ?? err);
  if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const m = /Unknown option '([^']+)'/.exec(msg);
    return `Unknown option ${m ? `'${m[1]}'` : ""}`.trimEnd();
  }
  if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    // e.g. "Option '--experiment <value>' argument missing"
    const m = /Option '(-[^' ]+)[^']*' argument missing/.exec(msg);
    if (m) return `Option '${m[1]}' needs a value`;
    const b = /Option '(-[^' ]+)[^']*' does not take an argument/.exec(msg);
    if (b) return `Option '${b[1]}' takes no value`;
  }
  return msg.split("\n")[0]!.replace(/\.$/, "");
}
