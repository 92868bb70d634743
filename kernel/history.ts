// The session's input history and history_request queries (tail, range, search).
import type { HistoryEntry } from "./extensions.js";
import type { HistoryReply, HistoryRequest } from "../protocol/messages.js";

/** IPython numbers sessions from 1; this kernel keeps one session per process. */
export const SESSION_NUMBER = 1;

export interface StoredEntry extends HistoryEntry {
  /** text/plain of the cell's execute_result, if any. */
  output: string | null;
}

export class History {
  readonly entries: StoredEntry[] = [];

  add(entry: StoredEntry): void {
    this.entries.push(entry);
  }

  query(q: HistoryRequest): HistoryReply {
    const rows = this.select(q);
    const history = rows.map((e): HistoryReply["history"][number] => [
      SESSION_NUMBER,
      e.executionCount,
      q.output ? [e.code, e.output] : e.code,
    ]);
    return { status: "ok", history };
  }

  private select(q: HistoryRequest): StoredEntry[] {
    const all = this.entries;
    switch (q.hist_access_type) {
      case "tail":
        return takeLast(all, q.n);
      case "range": {
        // Session 0 and negative offsets other than the current one name this session or older ones.
        const s = q.session ?? 0;
        if (s !== 0 && s !== SESSION_NUMBER) return [];
        const start = q.start ?? 0;
        const stop = q.stop ?? Number.POSITIVE_INFINITY;
        return all.filter((e) => e.executionCount >= start && e.executionCount < stop);
      }
      case "search": {
        const re = globToRegExp(q.pattern ?? "*");
        let hits = all.filter((e) => re.test(e.code));
        if (q.unique) {
          const seen = new Set<string>();
          // Keep the latest occurrence of each input, in order.
          hits = hits
            .reverse()
            .filter((e) => !seen.has(e.code) && seen.add(e.code))
            .reverse();
        }
        return takeLast(hits, q.n);
      }
      default:
        throw new TypeError(
          `history_request hist_access_type ${JSON.stringify(q.hist_access_type)} is not supported (accepted: "tail", "range", "search")`,
        );
    }
  }
}

function takeLast<T>(xs: T[], n: number | undefined): T[] {
  return n === undefined || n === null ? xs.slice() : n <= 0 ? [] : xs.slice(-n);
}

/** IPython's history search uses SQLite GLOB: `*`, `?`, `[...]`, case-sensitive. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") re += "[\\s\\S]*";
    else if (c === "?") re += "[\\s\\S]";
    else if (c === "[") {
      const close = glob.indexOf("]", i + 1);
      if (close < 0) re += "\\[";
      else {
        const body = glob.slice(i + 1, close);
        // SQLite GLOB and RegExp agree on [abc], [a-z] and [^abc].
        re += "[" + body.replace(/\\/g, "\\\\") + "]";
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\\]]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}
