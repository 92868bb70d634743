// order_by clauses ("metrics.acc DESC", "attributes.start_time", "`params.my key` ASC")
// parsed as MLflow does, and the sort helpers that apply them with MLflow's rules for
// missing and NaN values.

import { invalidParameter } from "../errors.js";
import { type EntityType, type Grammar } from "./grammar.js";
import { parseIdentifier } from "./filter.js";
import { tokenize } from "./tokenizer.js";

export interface OrderBy {
  type: EntityType;
  key: string;
  ascending: boolean;
}

export function parseOrderBy(clause: string, grammar: Grammar): OrderBy {
  if (typeof clause !== "string" || !clause.trim()) throw invalidParameter(`Invalid order_by clause '${clause}'. Could not be parsed.`);
  const tokens = tokenize(clause);
  if (tokens.length === 0 || tokens.length > 2 || tokens.some((t) => t.kind !== "name"))
    throw invalidParameter(`Invalid order_by clause '${clause}'. Could not be parsed: expected '<identifier> [ASC|DESC]'.`);
  let ascending = true;
  if (tokens.length === 2) {
    const dir = tokens[1]!.text.toLowerCase();
    if (dir !== "asc" && dir !== "desc")
      throw invalidParameter(`Invalid ordering key in order_by clause '${clause}': '${tokens[1]!.text}' is not ASC or DESC.`);
    ascending = dir === "asc";
  }
  // MLflow reads order_by with shlex, so a fully quoted identifier ("metrics.acc") loses its quotes first.
  const first = tokens[0]!;
  const id = parseIdentifier(first.value ?? first.text, grammar, true);
  return { ...id, ascending };
}

export type SortValue = string | number | undefined;

/**
 * Compares two sort values for one order_by clause as MLflow's FileStore does: present
 * values first (in the asked direction), then NaN, then missing values — in both directions.
 */
export function compareSortValues(a: SortValue, b: SortValue, ascending: boolean): number {
  const rank = (v: SortValue) => (v === undefined ? 2 : typeof v === "number" && Number.isNaN(v) ? 1 : 0);
  const ra = rank(a),
    rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra !== 0) return 0;
  if (a === b) return 0;
  const lt = typeof a === typeof b ? a! < b! : String(a) < String(b);
  return (lt ? -1 : 1) * (ascending ? 1 : -1);
}

/** Stable multi-key sort; Array.prototype.sort is stable, so ties keep the incoming order. */
export function sortBy<T>(items: T[], orders: OrderBy[], get: (item: T, type: EntityType, key: string) => SortValue): T[] {
  if (orders.length === 0) return items;
  return [...items].sort((x, y) => {
    for (const o of orders) {
      const c = compareSortValues(get(x, o.type, o.key), get(y, o.type, o.key), o.ascending);
      if (c !== 0) return c;
    }
    return 0;
  });
}
