// Parses an MLflow search filter ("metrics.acc > 0.5 AND tags.stage LIKE 'tr%'") into
// clauses and evaluates them against any entity through an accessor. Only AND joins
// clauses, as in MLflow. Errors are INVALID_PARAMETER_VALUE naming the bad token and
// what would be accepted.

import { invalidParameter } from "../errors.js";
import { type EntityType, type Grammar, pySet } from "./grammar.js";
import { type Token, tokenize, unquote } from "./tokenizer.js";

export type ClauseValue = string | number | string[];

export interface Clause {
  type: EntityType;
  /** The key with aliases resolved (`created` -> `start_time`). */
  key: string;
  comparator: string;
  value: ClauseValue;
}

export interface Identifier {
  type: EntityType;
  key: string;
}

/** Splits `tags."my tag"` into its entity and key as MLflow does (first dot outside quotes). */
export function parseIdentifier(text: string, grammar: Grammar, forOrderBy = false): Identifier {
  let dot = -1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "`") {
      quote = c;
      continue;
    }
    if (c === ".") {
      dot = i;
      break;
    }
  }
  let type: EntityType;
  let rawKey: string;
  if (dot < 0) {
    type = "attribute";
    rawKey = text;
  } else {
    const entity = unquote(text.slice(0, dot));
    const t = grammar.prefixes[entity];
    if (!t) {
      const valid = [...new Set(Object.values(grammar.prefixes))].map((v) => `'${v}'`).join(", ");
      throw invalidParameter(`Invalid entity type '${entity}'. Valid values are [${valid}]`);
    }
    type = t;
    rawKey = text.slice(dot + 1);
  }
  const key = unquote(rawKey);
  if (key === "") throw invalidParameter(`Invalid identifier '${text}': the key after '.' is empty.`);
  if (type === "attribute") {
    const valid = forOrderBy ? grammar.orderAttributes : grammar.searchAttributes;
    if (!valid.includes(key)) throw invalidParameter(`Invalid attribute key '${key}' specified. Valid keys are '${pySet(valid)}'`);
    return { type, key: grammar.aliases[key] ?? key };
  }
  return { type, key };
}

/** The comparators accepted for an identifier, by MLflow's rules. */
export function comparatorsFor(id: Identifier, grammar: Grammar, rawKey = id.key): readonly string[] {
  const c = grammar.comparators;
  switch (id.type) {
    case "metric":
      return c.metric;
    case "parameter":
      return c.parameter;
    case "tag":
      return c.tag;
    case "attribute":
      return grammar.numericAttributes.includes(rawKey) || grammar.numericAttributes.includes(id.key)
        ? c.numericAttribute
        : c.stringAttribute;
  }
}

class Cursor {
  i = 0;
  constructor(
    readonly tokens: Token[],
    readonly src: string,
  ) {}
  peek(): Token | undefined {
    return this.tokens[this.i];
  }
  next(): Token | undefined {
    return this.tokens[this.i++];
  }
  isWord(t: Token | undefined, word: string): boolean {
    return t?.kind === "name" && t.value === undefined && t.text.toUpperCase() === word;
  }
}

function readComparator(cur: Cursor, identText: string): string {
  const t = cur.next();
  if (!t) throw invalidParameter(`Invalid comparison clause in '${cur.src}': '${identText}' is not followed by a comparator.`);
  if (t.kind === "op") return t.text === "==" ? "=" : t.text;
  if (t.kind === "name" && t.value === undefined) {
    const w = t.text.toUpperCase();
    if (w === "NOT" && cur.isWord(cur.peek(), "IN")) {
      cur.next();
      return "NOT IN";
    }
    return w;
  }
  return t.text;
}

function readList(cur: Cursor, open: Token): string[] {
  const items: string[] = [];
  for (;;) {
    const t = cur.next();
    if (!t) throw invalidParameter(`Unclosed '(' at position ${open.pos} in '${cur.src}'.`);
    if (t.kind === "rparen" && items.length === 0)
      throw invalidParameter("While parsing a list in the query, expected a non-empty list of string values, but got empty list");
    if (t.kind !== "string")
      throw invalidParameter(`While parsing a list in the query, expected string value, punctuation, or whitespace, but got '${t.text}'.`);
    items.push(t.value!);
    const sep = cur.next();
    if (sep?.kind === "rparen") return items;
    if (sep?.kind !== "comma")
      throw invalidParameter(
        `While parsing a list in the query, expected ',' or ')' after ${t.text} but got '${sep?.text ?? "end of filter"}'.`,
      );
  }
}

function readValue(cur: Cursor, id: Identifier, grammar: Grammar, comparator: string, rawKey: string): ClauseValue {
  const t = cur.next();
  if (!t) throw invalidParameter(`Invalid comparison clause in '${cur.src}': no value after '${comparator}'.`);
  const numeric = id.type === "metric" || (id.type === "attribute" && grammar.numericAttributes.includes(rawKey));
  if (numeric) {
    if (t.kind !== "number") {
      const what = id.type === "metric" ? "metric" : `numeric attribute: ${rawKey}`;
      throw invalidParameter(`Expected numeric value type for ${what}. Found ${t.text}`);
    }
    return Number(t.text);
  }
  if (t.kind === "lparen") {
    if (id.type !== "attribute" || !grammar.listAttributes.includes(id.key))
      throw invalidParameter(
        `Only the ${grammar.listAttributes.map((a) => `'${a}'`).join(", ") || "(no)"} attribute supports comparison with a list of quoted string values (got a list for '${rawKey}').`,
      );
    if (comparator !== "IN" && comparator !== "NOT IN") throw invalidParameter(`A list of values needs IN or NOT IN, not '${comparator}'.`);
    return readList(cur, t);
  }
  if (comparator === "IN" || comparator === "NOT IN")
    throw invalidParameter(`'${comparator}' needs a parenthesised list of quoted strings, e.g. ('a', 'b'); got ${t.text}`);
  if (t.kind === "string" || (t.kind === "name" && t.value !== undefined && t.text.startsWith('"'))) return t.value!;
  const kind = id.type === "attribute" ? "attributes" : id.type;
  if (t.kind === "name")
    throw invalidParameter(
      `Parameter value is either not quoted or unidentified quote types used for string value ${t.text}. Use either single or double quotes.`,
    );
  throw invalidParameter(`Expected a quoted string value for ${kind} (e.g. 'my-value'). Got value ${t.text}`);
}

/** Parses a filter string into AND-ed clauses; an empty filter gives no clauses. */
export function parseFilter(filter: string | undefined, grammar: Grammar): Clause[] {
  if (!filter || !filter.trim()) return [];
  const cur = new Cursor(tokenize(filter), filter);
  const clauses: Clause[] = [];
  for (;;) {
    const t = cur.next();
    if (!t || t.kind !== "name" || (t.value !== undefined && !t.text.startsWith("`") && !t.text.startsWith('"')))
      throw invalidParameter(
        `Invalid clause(s) in filter string: '${t?.text ?? "end of filter"}' where an identifier (e.g. metrics.acc, params.lr, tags.x, attributes.status) was expected in '${filter}'.`,
      );
    const rawKeyText = t.text;
    const id = parseIdentifier(rawKeyText, grammar);
    const rawKey = unquote(rawKeyText.includes(".") ? rawKeyText.slice(rawKeyText.indexOf(".") + 1) : rawKeyText);
    const comparator = readComparator(cur, rawKeyText);
    const valid = comparatorsFor(id, grammar, rawKey);
    if (!valid.includes(comparator))
      throw invalidParameter(`Invalid comparator '${comparator}' not one of '${pySet(valid)}' for '${rawKeyText}'`);
    const value = readValue(cur, id, grammar, comparator, rawKey);
    clauses.push({ ...id, comparator, value });
    const joiner = cur.next();
    if (!joiner) return clauses;
    if (!cur.isWord(joiner, "AND"))
      throw invalidParameter(
        `Invalid clause(s) in filter string: '${joiner.text}'. Clauses are joined with AND only (OR is not supported) in '${filter}'.`,
      );
  }
}

const likeCache = new Map<string, RegExp>();
/** SQL LIKE as MLflow evaluates it: % any run, _ one character, anchored unless the pattern starts/ends with %. */
export function likeRegex(pattern: string, caseInsensitive: boolean): RegExp {
  const cacheKey = (caseInsensitive ? "i" : "s") + pattern;
  let re = likeCache.get(cacheKey);
  if (!re) {
    const body = pattern
      .replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
      .replace(/%/g, "[\\s\\S]*")
      .replace(/_/g, "[\\s\\S]");
    re = new RegExp(`^${body}$`, caseInsensitive ? "is" : "s");
    if (likeCache.size >= 256) likeCache.clear(); // patterns come from users: keep the cache bounded
    likeCache.set(cacheKey, re);
  }
  return re;
}

/** Applies one comparator; a missing left-hand side never matches, as in MLflow. */
export function compare(lhs: string | number | undefined, comparator: string, rhs: ClauseValue): boolean {
  if (lhs === undefined) return false;
  switch (comparator) {
    case "=":
      return lhs === rhs;
    case "!=":
      return lhs !== rhs;
    case ">":
      return lhs > (rhs as number | string);
    case ">=":
      return lhs >= (rhs as number | string);
    case "<":
      return lhs < (rhs as number | string);
    case "<=":
      return lhs <= (rhs as number | string);
    case "LIKE":
      return likeRegex(String(rhs), false).test(String(lhs));
    case "ILIKE":
      return likeRegex(String(rhs), true).test(String(lhs));
    case "IN":
      return (rhs as string[]).includes(String(lhs));
    case "NOT IN":
      return !(rhs as string[]).includes(String(lhs));
  }
  throw invalidParameter(`Unknown comparator '${comparator}'.`);
}

/** Reads the value an identifier names on one entity; undefined when absent. */
export type Accessor<T> = (entity: T, type: EntityType, key: string) => string | number | undefined;

export function matches<T>(entity: T, clauses: Clause[], get: Accessor<T>): boolean {
  return clauses.every((c) => compare(get(entity, c.type, c.key), c.comparator, c.value));
}
