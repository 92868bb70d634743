// Following MLflow's page tokens safely. Endpoints differ (DIFF.md): runs/search gives a
// token after every full page, metrics/get-history (3.x) none on its last page even when
// full, and 3.4 answers get-history without max_results with an empty page whose token it
// then refuses. A server that keeps answering tokens without items, or the same token
// twice, would make a naive loop spin forever: this one stops with an error that names the
// call and the server's version.

import { MlflowError } from "../errors.js";

// Page sizes sent when the caller gives none: those of MLflow's own Python client (its
// proto defaults are the same for runs and registered models; model-versions/search's proto
// default is 200000, but the client asks for 10000). experiments/search uses
// DEFAULT_SEARCH_MAX_RESULTS and metrics/get-history METRIC_HISTORY_PAGE_SIZE (limits.ts).
export const RUNS_PAGE_SIZE = 1000;
export const REGISTERED_MODELS_PAGE_SIZE = 100;
export const MODEL_VERSIONS_PAGE_SIZE = 10_000;

export interface PageAnswer<T> {
  items: T[];
  nextPageToken?: string;
}

/** Names the server in errors, e.g. `MLflow 3.4.1 at http://host:5000`; fetched only on failure. */
export type DescribeServer = () => Promise<string>;

/** Every item of a paginated call, page by page. */
export async function collectPages<T>(
  call: string,
  fetchPage: (pageToken: string | undefined) => Promise<PageAnswer<T>>,
  describeServer: DescribeServer,
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let token: string | undefined;
  do {
    let page: PageAnswer<T>;
    try {
      page = await fetchPage(token);
    } catch (err) {
      // A refused token is the server's paging, not the caller's input: say so.
      if (token !== undefined && err instanceof MlflowError && err.httpStatus === 400)
        throw new MlflowError(err.code, `${await describeServer()} refused its own page token for ${call}: ${err.message}`, 400, {
          cause: err,
        });
      throw err;
    }
    out.push(...page.items);
    const next = page.nextPageToken || undefined;
    if (next !== undefined && page.items.length === 0)
      throw new MlflowError(
        "UNEXPECTED_RESPONSE",
        `${await describeServer()} answered ${call} with a page token but no items; stopping instead of following it (this client sends max_results on every call).`,
      );
    if (next !== undefined && seen.has(next))
      throw new MlflowError(
        "UNEXPECTED_RESPONSE",
        `${await describeServer()} answered ${call} with the same page token twice; stopping instead of looping.`,
      );
    if (next !== undefined) seen.add(next);
    token = next;
  } while (token !== undefined);
  return out;
}
