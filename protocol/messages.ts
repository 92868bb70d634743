// Jupyter message types (protocol 5.3): the header, the message envelope, and
// one typed map per channel from request msg_type to [request, reply] content.
// The kernel's handler tables are mapped types over these maps (kernel/dispatch.ts):
// each handler receives its request's content typed and must return its reply's
// type, so a misspelt field fails to compile instead of reaching a frontend. The
// content a request arrives with is checked against its type once, in the
// dispatcher (request-content.ts), before any handler sees it.
import { randomUUID } from "node:crypto";

export const PROTOCOL_VERSION = "5.3";

export interface Header {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
  [extra: string]: unknown;
}

export interface Message<C = Record<string, unknown>> {
  header: Header;
  /** `{}` when there is no parent. */
  parent_header: Partial<Header>;
  metadata: Record<string, unknown>;
  content: C;
  buffers?: Buffer[];
}

export function newHeader(msgType: string, session: string, username = "kernel"): Header {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username,
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** A new message whose parent is `parent` (for replies and iopub output). */
export function childMessage<C>(
  msgType: string,
  content: C,
  parent: Message<unknown> | undefined,
  session: string,
  metadata: Record<string, unknown> = {},
): Message<C> {
  return {
    header: newHeader(msgType, session, parent?.header.username ?? "kernel"),
    parent_header: parent ? parent.header : {},
    metadata,
    content,
  };
}

// ---- content shapes ------------------------------------------------------

/** A MIME bundle: known keys typed, anything else allowed. */
export interface MimeBundle {
  "text/plain"?: string;
  "text/html"?: string;
  "text/markdown"?: string;
  "image/svg+xml"?: string;
  "image/png"?: string;
  "image/jpeg"?: string;
  "application/json"?: unknown;
  "application/vnd.vegalite.v5+json"?: unknown;
  [mime: string]: unknown;
}

export interface ErrorContent {
  ename: string;
  evalue: string;
  traceback: string[];
}

export type ReplyStatus = "ok" | "error";
export type ErrorReply = { status: "error" } & ErrorContent;

export interface KernelInfoReply {
  status: "ok";
  protocol_version: string;
  implementation: string;
  implementation_version: string;
  language_info: {
    name: string;
    version: string;
    mimetype: string;
    file_extension: string;
    codemirror_mode?: unknown;
    pygments_lexer?: string;
    nbconvert_exporter?: string;
    [extra: string]: unknown;
  };
  banner: string;
  help_links?: { text: string; url: string }[];
  debugger?: boolean;
}

export interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
  user_expressions?: Record<string, string>;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
}
export type ExecuteReply =
  | { status: "ok"; execution_count: number; user_expressions: Record<string, unknown>; payload: unknown[] }
  | ({ status: "error"; execution_count: number } & ErrorContent)
  | { status: "aborted" };

/** `cursor_pos` counts Unicode code points; absent, it is the end of `code`. */
export interface CompleteRequest {
  code: string;
  cursor_pos?: number;
}
export interface CompleteReply {
  status: "ok";
  matches: string[];
  cursor_start: number;
  cursor_end: number;
  metadata: Record<string, unknown>;
}

/** `cursor_pos` as in CompleteRequest. */
export interface InspectRequest {
  code: string;
  cursor_pos?: number;
  detail_level?: 0 | 1;
}
export interface InspectReply {
  status: "ok";
  found: boolean;
  data: MimeBundle;
  metadata: Record<string, unknown>;
}

export interface IsCompleteRequest {
  code: string;
}
export type IsCompleteReply = { status: "complete" | "invalid" | "unknown" } | { status: "incomplete"; indent: string };

export interface HistoryRequest {
  output?: boolean;
  raw?: boolean;
  hist_access_type: "range" | "tail" | "search";
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}
export interface HistoryReply {
  status: "ok";
  /** [session, line_number, input] (or [session, line, [input, output]] with output). */
  history: [number, number, string | [string, string | null]][];
}

export interface CommInfoRequest {
  target_name?: string;
}
export interface CommInfoReply {
  status: "ok";
  comms: Record<string, { target_name: string }>;
}

/** Absent `restart` means false. */
export interface ShutdownRequest {
  restart?: boolean;
}
export interface ShutdownReply {
  status: "ok";
  restart: boolean;
}

export type InterruptRequest = Record<string, never>;
export interface InterruptReply {
  status: "ok";
}

export interface InputRequest {
  prompt: string;
  password: boolean;
}
export interface InputReply {
  value: string;
}

export interface CommOpen {
  comm_id: string;
  target_name: string;
  data: Record<string, unknown>;
}
export interface CommMsg {
  comm_id: string;
  data: Record<string, unknown>;
}
export interface CommClose {
  comm_id: string;
  data: Record<string, unknown>;
}

/** Shell requests -> [request content, reply content]. */
export interface ShellMessages {
  kernel_info_request: [Record<string, never>, KernelInfoReply];
  execute_request: [ExecuteRequest, ExecuteReply];
  complete_request: [CompleteRequest, CompleteReply | ErrorReply];
  inspect_request: [InspectRequest, InspectReply | ErrorReply];
  is_complete_request: [IsCompleteRequest, IsCompleteReply];
  history_request: [HistoryRequest, HistoryReply];
  comm_info_request: [CommInfoRequest, CommInfoReply];
}

/** Control requests -> [request content, reply content]. */
export interface ControlMessages {
  kernel_info_request: [Record<string, never>, KernelInfoReply];
  shutdown_request: [ShutdownRequest, ShutdownReply];
  interrupt_request: [InterruptRequest, InterruptReply];
}

/** Shell messages that get no reply (comms). */
export interface ShellNotices {
  comm_open: CommOpen;
  comm_msg: CommMsg;
  comm_close: CommClose;
}

/** Everything the kernel takes on shell: its requests, and comm messages (`void`: no reply). */
export type ShellChannel = ShellMessages & { [K in keyof ShellNotices]: [ShellNotices[K], void] };
/** Everything the kernel takes on control. */
export type ControlChannel = ControlMessages;
/** A channel's map: msg_type -> [request content, reply content]. */
export type ChannelMessages<M> = { [K in keyof M]: readonly [unknown, unknown] };

/** Messages the kernel publishes on iopub. */
export interface IopubMessages {
  status: { execution_state: "starting" | "busy" | "idle" };
  stream: { name: "stdout" | "stderr"; text: string };
  execute_input: { code: string; execution_count: number };
  execute_result: { execution_count: number; data: MimeBundle; metadata: Record<string, unknown> };
  display_data: { data: MimeBundle; metadata: Record<string, unknown>; transient?: { display_id?: string } };
  update_display_data: { data: MimeBundle; metadata: Record<string, unknown>; transient: { display_id: string } };
  clear_output: { wait: boolean };
  error: ErrorContent;
  comm_close: CommClose;
}

export type ShellRequestType = keyof ShellMessages;
export type ControlRequestType = keyof ControlMessages;
export type IopubType = keyof IopubMessages;

/** Reply msg_type for a request msg_type: `x_request` -> `x_reply`. */
export function replyType(requestType: string): string {
  return requestType.endsWith("_request") ? requestType.slice(0, -"_request".length) + "_reply" : requestType + "_reply";
}
