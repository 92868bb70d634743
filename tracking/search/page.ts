// MLflow's page tokens: base64 of the JSON `{"offset": N}` (Python's json.dumps spacing),
// so tokens we hand out look like, and interoperate with, the ones MLflow hands out.

import { invalidParameter } from "../errors.js";
import type { Page } from "../entities.js";
import { DEFAULT_SEARCH_MAX_RESULTS, MAX_RESULTS_PER_PAGE } from "../limits.js";

export const createPageToken = (offset: number): string => Buffer.from(`{"offset": ${offset}}`, "utf8").toString("base64");

export function parsePageToken(token: string | undefined): number {
  if (!token) return 0;
  if (!/^[A-Za-z0-9+/=_-]+$/.test(token)) throw invalidParameter(`Invalid page token '${token}', could not base64-decode.`);
  const decoded = Buffer.from(token, "base64").toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(decoded);
  } catch {
    throw invalidParameter(`Invalid page token '${token}', decoded value=${JSON.stringify(decoded)} is not JSON.`);
  }
  const offset = (parsed as { offset?: unknown } | null)?.offset;
  const n = typeof offset === "number" ? offset : typeof offset === "string" ? Number(offset) : NaN;
  if (!Number.isInteger(n) || n <= 0)
    throw invalidParameter(`Invalid page token '${token}', parsed value=${decoded}: expected a positive integer offset.`);
  return n;
}

export function checkMaxResults(maxResults: number | undefined): number {
  if (maxResults === undefined) return DEFAULT_SEARCH_MAX_RESULTS;
  if (!Number.isInteger(maxResults) || maxResults < 1)
    throw invalidParameter(`Invalid value ${maxResults} for parameter 'max_results' supplied. It must be a positive integer.`);
  if (maxResults > MAX_RESULTS_PER_PAGE)
    throw invalidParameter(
      `Invalid value for request parameter max_results. It must be at most ${MAX_RESULTS_PER_PAGE}, but got value ${maxResults}.`,
    );
  return maxResults;
}

/** One page of `items`; a next token only when more items follow (MLflow's FileStore rule). */
export function paginate<T>(items: T[], pageToken: string | undefined, maxResults: number | undefined): Page<T> {
  const start = parsePageToken(pageToken);
  const end = start + checkMaxResults(maxResults);
  const page: Page<T> = { items: items.slice(start, end) };
  if (end < items.length) page.nextPageToken = createPageToken(end);
  return page;
}
