// Tables read and written in batches, so a file of any size passes through bounded memory:
// CSV (csv-parse, streaming), JSON Lines (one record per line), Parquet (hyparquet, one row
// group at a time) and records already in memory go in; Parquet (hyparquet-writer, one row
// group per batch) or CSV come out. Written to a temporary file beside the target and renamed,
// so a failed run never leaves a half table under the asked name.

import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { once } from "node:events";
import { extname } from "node:path";
import { createInterface } from "node:readline";
import { invalidParameter, notFound } from "../tracking/index.js";
import { csvValue } from "./scoring-protocol.js";
import type { ColType } from "./signature.js";

export type TableRecord = Record<string, unknown>;

export const TABLE_FORMATS = ["csv", "jsonl", "parquet"] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

const EXTENSIONS: Record<string, TableFormat> = {
  ".csv": "csv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".parquet": "parquet",
  ".pq": "parquet",
};

/** The format a file's extension names, or an error listing the accepted ones. */
export function formatOf(path: string, what: "input" | "output"): TableFormat {
  const f = EXTENSIONS[extname(path).toLowerCase()];
  const accepted = what === "input" ? ".csv, .jsonl (or .ndjson), .parquet" : ".parquet or .csv";
  if (!f || (what === "output" && f === "jsonl"))
    throw invalidParameter(`Cannot tell the ${what} format of ${JSON.stringify(path)} from its extension: use ${accepted}.`);
  return f;
}

/** Where reading has got to, for progress displays. */
export interface ReadProgress {
  bytesRead?: number;
  totalBytes?: number;
  totalRows?: number;
}

export interface TableSource {
  format: TableFormat | "records";
  progress: ReadProgress;
  /** Batches of at most `batchSize` records, in file order. */
  batches(batchSize: number): AsyncIterable<TableRecord[]>;
}

/** A file (by extension) or records in memory as a source of batches; `types` types CSV cells. */
export async function openTable(input: string | readonly TableRecord[], types: Map<string, ColType> = new Map()): Promise<TableSource> {
  if (typeof input !== "string") {
    if (!Array.isArray(input) || !input.every((r) => r !== null && typeof r === "object" && !Array.isArray(r)))
      throw invalidParameter(
        `Invalid batch input: give a file path (.csv, .jsonl, .parquet) or an array of records (objects of column to value).`,
      );
    return {
      format: "records",
      progress: { totalRows: input.length },
      async *batches(n) {
        for (let i = 0; i < input.length; i += n) yield input.slice(i, i + n);
      },
    };
  }
  const format = formatOf(input, "input");
  const s = await stat(input).catch(() => undefined);
  if (!s?.isFile()) throw notFound(`No input file at ${JSON.stringify(input)}.`);
  const progress: ReadProgress = { bytesRead: 0, totalBytes: s.size };
  if (format === "parquet") return parquetSource(input, progress);
  return {
    format,
    progress,
    batches: (n) => (format === "csv" ? csvBatches(input, n, types, progress) : jsonlBatches(input, n, progress)),
  };
}

async function* csvBatches(path: string, n: number, types: Map<string, ColType>, progress: ReadProgress): AsyncIterable<TableRecord[]> {
  const { parse } = await import("csv-parse");
  const file = createReadStream(path);
  file.on("data", (c) => (progress.bytesRead! += c.length));
  // Header cells named once; each row typed by the column's signature type.
  let header: { name: string; type: ColType | undefined }[] | undefined;
  const parser = file.pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: true }));
  let batch: TableRecord[] = [];
  try {
    for await (const row of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = row.map((name) => ({ name, type: types.get(name) }));
        continue;
      }
      const rec: TableRecord = {};
      for (let j = 0; j < header.length; j++) rec[header[j]!.name] = j < row.length ? csvValue(row[j]!, header[j]!.type) : null;
      batch.push(rec);
      if (batch.length >= n) {
        yield batch;
        batch = [];
      }
    }
  } catch (err) {
    throw invalidParameter(`Cannot read the CSV file ${JSON.stringify(path)}: ${(err as Error).message}`);
  } finally {
    file.destroy();
  }
  if (batch.length) yield batch;
}

async function* jsonlBatches(path: string, n: number, progress: ReadProgress): AsyncIterable<TableRecord[]> {
  const file = createReadStream(path, "utf8");
  file.on("data", (c) => (progress.bytesRead! += Buffer.byteLength(c)));
  const lines = createInterface({ input: file, crlfDelay: Infinity });
  let batch: TableRecord[] = [];
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (!text.trim()) continue;
      let rec: unknown;
      try {
        rec = JSON.parse(text);
      } catch (err) {
        throw invalidParameter(
          `Line ${line} of ${JSON.stringify(path)} is not JSON (${(err as Error).message}): JSON Lines has one JSON object per line.`,
        );
      }
      if (rec === null || typeof rec !== "object" || Array.isArray(rec))
        throw invalidParameter(
          `Line ${line} of ${JSON.stringify(path)} is ${Array.isArray(rec) ? "a list" : JSON.stringify(rec)}; expected a JSON object (a record of column to value).`,
        );
      batch.push(rec as TableRecord);
      if (batch.length >= n) {
        yield batch;
        batch = [];
      }
    }
  } finally {
    file.destroy();
  }
  if (batch.length) yield batch;
}

async function parquetSource(path: string, progress: ReadProgress): Promise<TableSource> {
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file).catch((err: Error) => {
    throw invalidParameter(`Cannot read the Parquet file ${JSON.stringify(path)}: ${err.message}`);
  });
  progress.totalRows = Number(metadata.num_rows);
  return {
    format: "parquet",
    progress,
    async *batches(n) {
      // One row group at a time (split into batches): never more than a row group in memory.
      let start = 0;
      for (const group of metadata.row_groups) {
        const end = start + Number(group.num_rows);
        for (let from = start; from < end; from += n) {
          const rows = await parquetReadObjects({ file, metadata, rowStart: from, rowEnd: Math.min(from + n, end) });
          progress.bytesRead = Math.round(progress.totalBytes! * (Math.min(from + n, end) / Math.max(1, progress.totalRows!)));
          yield rows as TableRecord[];
        }
        start = end;
      }
    },
  };
}

// ---- Writing

export interface TableSink {
  /** Appends rows (all with the same columns, in `columns` order). */
  write(rows: TableRecord[]): Promise<void>;
  /** Completes the file and moves it to its name. */
  finish(): Promise<void>;
  /** Removes the partial file. */
  abort(): Promise<void>;
}

const tmpName = (path: string) => `${path}.tmp-${process.pid}`;

/** A Parquet file (or CSV, by the extension) with these columns; Parquet types come from the first rows. */
export async function createTableSink(path: string, columns: string[]): Promise<TableSink> {
  const format = formatOf(path, "output");
  return format === "csv" ? csvSink(path, columns) : parquetSink(path, columns);
}

type ParquetBasicType = "DOUBLE" | "INT64" | "STRING" | "BOOLEAN" | "TIMESTAMP" | "JSON";

function parquetType(values: unknown[], column: string): ParquetBasicType {
  const v = values.find((x) => x !== null && x !== undefined);
  if (typeof v === "number") return "DOUBLE";
  if (typeof v === "bigint") return "INT64";
  if (typeof v === "boolean") return "BOOLEAN";
  if (v instanceof Date) return "TIMESTAMP";
  if (v === undefined || typeof v === "string") return "STRING";
  if (typeof v === "object") return "JSON";
  throw invalidParameter(
    `Column ${JSON.stringify(column)} holds ${typeof v} values, which a Parquet column cannot: use numbers, strings, booleans, dates or JSON objects.`,
  );
}

/** A value as its column's type stores it; a value of another type is refused, naming the column and row. */
function fitValue(v: unknown, type: ParquetBasicType, column: string, row: number): unknown {
  if (v === null || v === undefined) return null;
  const ok =
    type === "DOUBLE"
      ? typeof v === "number"
      : type === "INT64"
        ? typeof v === "bigint"
        : type === "BOOLEAN"
          ? typeof v === "boolean"
          : type === "TIMESTAMP"
            ? v instanceof Date
            : type === "STRING"
              ? typeof v === "string"
              : typeof v === "object";
  if (ok) return v;
  if (type === "DOUBLE" && typeof v === "bigint") return Number(v);
  if (type === "STRING" && (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint")) return String(v);
  throw invalidParameter(
    `Column ${JSON.stringify(column)} of output row ${row} is ${typeof v} (${JSON.stringify(String(v)).slice(0, 40)}) where earlier rows made it ${type}.`,
  );
}

async function parquetSink(path: string, columns: string[]): Promise<TableSink> {
  const { ParquetWriter, schemaFromColumnData, fileWriter, parquetWriteFile } = await import("hyparquet-writer");
  const tmp = tmpName(path);
  let writer: InstanceType<typeof ParquetWriter> | undefined;
  let types: ParquetBasicType[] = [];
  let written = 0;
  return {
    async write(rows) {
      if (!rows.length) return;
      const data = columns.map((c) => rows.map((r) => r[c]));
      if (!writer) {
        types = data.map((values, i) => parquetType(values, columns[i]!));
        const columnData = columns.map((name, i) => ({ name, data: data[i]!, type: types[i]! }));
        writer = new ParquetWriter({ writer: fileWriter(tmp), schema: schemaFromColumnData({ columnData }), createdBy: "tslab-mlflow" });
      }
      const columnData = columns.map((name, i) => ({
        name,
        type: types[i]!,
        data: data[i]!.map((v, r) => fitValue(v, types[i]!, name, written + r + 1)),
      }));
      // One row group per batch: the writer holds no more than a batch.
      await writer.write({ columnData, rowGroupSize: rows.length });
      written += rows.length;
    },
    async finish() {
      if (!writer) {
        // No rows: still a valid file with the columns (typed as strings).
        parquetWriteFile({ filename: tmp, columnData: columns.map((name) => ({ name, data: [], type: "STRING" as const })) });
      } else await writer.finish();
      await rename(tmp, path);
    },
    abort: () => rm(tmp, { force: true }),
  };
}

/** A CSV cell: quoted when it holds a comma, quote or line break; objects as JSON; missing values empty. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined || (typeof v === "number" && Number.isNaN(v))) return "";
  const s =
    v instanceof Date
      ? v.toISOString()
      : typeof v === "object"
        ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x))
        : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

async function csvSink(path: string, columns: string[]): Promise<TableSink> {
  const tmp = tmpName(path);
  const out: WriteStream = createWriteStream(tmp);
  await once(out, "open");
  const put = async (text: string) => {
    if (!out.write(text)) await once(out, "drain");
  };
  await put(columns.map(csvCell).join(",") + "\n");
  return {
    async write(rows) {
      await put(rows.map((r) => columns.map((c) => csvCell(r[c])).join(",")).join("\n") + "\n");
    },
    async finish() {
      out.end();
      await once(out, "finish");
      await rename(tmp, path);
    },
    async abort() {
      out.destroy();
      await rm(tmp, { force: true });
    },
  };
}
