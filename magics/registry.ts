// The table of magics. Each entry says its name, kind, usage and options; option parsing
// (node's util.parseArgs), `%lsmagic`, `%help name` and `%name?` are all generated from it,
// so a magic is one object and its help can never drift from what it accepts. The options
// object is declared `as const`, and the values a handler reads are typed from it
// (OptionValues), so a handler cannot read an option as anything but what it parses to.

import { parseArgs, type ParseArgsConfig } from "node:util";
import type { MagicCall } from "./parse.js";

export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly multiple?: boolean;
  readonly short?: string;
  /** Shown in help, e.g. `k=v`. */
  readonly value?: string;
  /** The value when the option is not given (then the handler's value is never undefined). */
  readonly default?: string | boolean | readonly string[];
  readonly description: string;
}

/** A magic's options by name; declare it `as const satisfies OptionSchema` so values come out typed. */
export type OptionSchema = { readonly [name: string]: OptionSpec };

/** What one option parses to: a boolean flag, a repeatable string's list, or one string. */
export type OptionValue<S extends OptionSpec> = S extends { readonly type: "boolean" }
  ? boolean
  : S extends { readonly multiple: true }
    ? string[]
    : string;

type Defaulted<O extends OptionSchema> = { [K in keyof O]: O[K] extends { readonly default: unknown } ? K : never }[keyof O];

/**
 * The values a handler reads, derived from its options: `{ metric: { type: "string", multiple: true } }`
 * gives `{ metric?: string[] }`; an option with a default is never undefined. An untyped
 * schema (the registry's own view of any magic) reads as a record of every value shape.
 */
export type OptionValues<O extends OptionSchema = OptionSchema> = string extends keyof O
  ? { [name: string]: string | boolean | string[] | undefined }
  : { -readonly [K in Exclude<keyof O, Defaulted<O>>]?: OptionValue<O[K]> } & { -readonly [K in Defaulted<O>]: OptionValue<O[K]> };

export interface Invocation<O extends OptionSchema = OptionSchema> {
  values: OptionValues<O>;
  positionals: string[];
  /** The cell magic's body (undefined for line magics). */
  body: string | undefined;
  call: MagicCall;
}

export interface Magic<C = unknown, O extends OptionSchema = OptionSchema> {
  name: string;
  kind: "line" | "cell";
  summary: string;
  /** Argument synopsis after the name, e.g. `[NAME] [--nested]`. */
  usage: string;
  options: O;
  /** Most positionals accepted (default 0). */
  maxPositionals?: number;
  /** Refuses bad values (beyond option shapes) before any magic of the cell runs or sends anything. */
  check?(inv: Invocation<O>): void;
  run(inv: Invocation<O>, ctx: C): Promise<void>;
}

/**
 * A magic of any options: the table holds magics whose handlers read different values, and a
 * handler's parameter cannot widen to every schema's, so the table erases the schema here.
 * What a handler receives still comes from its own options, through parse().
 */
export type AnyMagic<C = unknown> = Magic<C, any>;

export type MagicErrorCode = "UNKNOWN_MAGIC" | "BAD_OPTION" | "BAD_ARGUMENT" | "WRONG_KIND";

/** Bad input to a magic: the message names what was wrong and what is accepted. */
export class MagicError extends Error {
  override name = "MagicError";
  constructor(
    readonly code: MagicErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const prefix = (m: { kind: "line" | "cell" }) => (m.kind === "cell" ? "%%" : "%");

export class MagicRegistry<C = unknown> {
  private readonly magics = new Map<string, AnyMagic<C>>();

  register(...magics: AnyMagic<C>[]): this {
    for (const m of magics) this.magics.set(m.name, m);
    return this;
  }

  get(name: string): AnyMagic<C> | undefined {
    return this.magics.get(name);
  }

  list(): AnyMagic<C>[] {
    return [...this.magics.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The magic a call names, or a MagicError listing what exists. */
  resolve(call: MagicCall): AnyMagic<C> {
    const magic = this.magics.get(call.name);
    const p = call.kind === "cell" ? "%%" : "%";
    if (!magic) {
      throw new MagicError(
        "UNKNOWN_MAGIC",
        `Unknown magic ${p}${call.name}. Available: ${this.list()
          .map((m) => prefix(m) + m.name)
          .join(", ")}.`,
      );
    }
    if (magic.kind !== call.kind) {
      throw new MagicError(
        "WRONG_KIND",
        `${p}${call.name} is not a ${call.kind} magic; write it as ${prefix(magic)}${magic.name} ${magic.usage}`.trimEnd() + ".",
      );
    }
    return magic;
  }

  /** Parses a call's argv against the magic's options, naming any bad option and the accepted ones. */
  parse<O extends OptionSchema>(magic: Magic<C, O>, call: MagicCall, body?: string): Invocation<O> {
    const options: NonNullable<ParseArgsConfig["options"]> = {};
    for (const [name, spec] of Object.entries(magic.options as OptionSchema)) {
      options[name] = {
        type: spec.type,
        ...(spec.multiple ? { multiple: true } : {}),
        ...(spec.short ? { short: spec.short } : {}),
        ...(spec.default !== undefined
          ? { default: Array.isArray(spec.default) ? [...spec.default] : (spec.default as string | boolean) }
          : {}),
      };
    }
    // parseArgs gives each option the shape its spec says (string, boolean, string[]), which
    // is what OptionValues<O> states: the one place that type is asserted.
    let parsed: { values: OptionValues<O>; positionals: string[] };
    try {
      parsed = parseArgs({ args: call.argv, options, strict: true, allowPositionals: true }) as typeof parsed;
    } catch (err) {
      throw new MagicError("BAD_OPTION", `${describeParseError(err)} for ${prefix(magic)}${magic.name}. ${this.accepted(magic)}`);
    }
    const max = magic.maxPositionals ?? 0;
    if (parsed.positionals.length > max) {
      const extra = parsed.positionals
        .slice(max)
        .map((p) => JSON.stringify(p))
        .join(" ");
      throw new MagicError(
        "BAD_ARGUMENT",
        `Unexpected argument ${extra} for ${prefix(magic)}${magic.name} (it takes ${max === 0 ? "no" : `at most ${max}`} positional argument${max === 1 ? "" : "s"}). Usage: ${this.synopsis(magic)}`,
      );
    }
    return { values: parsed.values, positionals: parsed.positionals, body, call };
  }

  accepted(magic: AnyMagic<C>): string {
    const names = Object.keys(magic.options).map((n) => "--" + n);
    return names.length ? `Accepted options: ${names.join(", ")}.` : "It accepts no options.";
  }

  synopsis(magic: AnyMagic<C>): string {
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
      throw new MagicError(
        "UNKNOWN_MAGIC",
        `Unknown magic ${JSON.stringify(name)}. Available: ${this.list()
          .map((m) => prefix(m) + m.name)
          .join(", ")}.`,
      );
    }
    const lines = [`Usage: ${this.synopsis(magic)}`, "", magic.summary];
    const opts = Object.entries(magic.options as OptionSchema);
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
