// Notebook outputs (nbformat 4) as this project makes them, and the one conversion from an
// iopub message to one (nbformat's `output_from_msg`). The magics build their artifacts and
// notebook snapshots from these, and `tslab-mlflow run` the executed notebook, so a cell's
// outputs read the same wherever they end up. Types only from @jupyterlab/nbformat.

import type * as nbformat from "@jupyterlab/nbformat";
import type { ErrorContent, IopubMessages, MimeBundle } from "../protocol/messages.js";

export type { MimeBundle };

/**
 * One output as made in memory: text unsplit (nbformat's files split it into lines when
 * written), bundle values as the kernel published them.
 */
export type NotebookOutput =
  | { output_type: "stream"; name: "stdout" | "stderr"; text: string }
  | { output_type: "display_data"; data: MimeBundle; metadata: Record<string, unknown> }
  | { output_type: "execute_result"; data: MimeBundle; metadata: Record<string, unknown>; execution_count: number | null }
  | ({ output_type: "error" } & ErrorContent);

/** The iopub messages that are outputs, with their content. */
export type IopubOutputMessage = {
  [T in "stream" | "display_data" | "execute_result" | "error"]: { msg_type: T; content: IopubMessages[T] };
}["stream" | "display_data" | "execute_result" | "error"];

const record = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
const text = (v: unknown): string => (typeof v === "string" ? v : Array.isArray(v) ? v.join("") : "");

/**
 * The notebook output an iopub message makes (nbformat's `output_from_msg`), or undefined
 * for messages that are not outputs (status, execute_input, clear_output, ...). Content comes
 * from the wire as well as from this kernel, so missing fields get nbformat's defaults.
 */
export function outputFromIopub(msgType: string, content: unknown): NotebookOutput | undefined {
  const c = record(content);
  switch (msgType) {
    case "stream":
      return { output_type: "stream", name: c.name === "stderr" ? "stderr" : "stdout", text: text(c.text) };
    case "display_data":
      return { output_type: "display_data", data: record(c.data), metadata: record(c.metadata) };
    case "execute_result":
      return {
        output_type: "execute_result",
        data: record(c.data),
        metadata: record(c.metadata),
        execution_count: typeof c.execution_count === "number" ? c.execution_count : null,
      };
    case "error":
      return {
        output_type: "error",
        ename: text(c.ename),
        evalue: text(c.evalue),
        traceback: Array.isArray(c.traceback) ? c.traceback.map(String) : [],
      };
    default:
      return undefined;
  }
}

/**
 * The same output as nbformat's own type, for a notebook's cells. nbformat types bundle
 * values as JSON; ours are what the kernel published (JSON-serialisable, typed `unknown`),
 * so this is the one place that says they are the same thing.
 */
export const toNbformat = (o: NotebookOutput): nbformat.IOutput => o as unknown as nbformat.IOutput;
