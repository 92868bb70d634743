// The KernelClient's options, results and errors (kept apart so the client
// module holds only behaviour).
import type { InputRequest, Message } from "../protocol/messages.js";

export type RequestChannel = "shell" | "control";
export type InterruptMode = "signal" | "message";

/** The launch part of a kernelspec's kernel.json. */
export interface KernelSpecLaunch {
  argv: string[];
  env?: Record<string, string>;
  interrupt_mode?: InterruptMode;
}

export interface InheritedStdio {
  stdio: import("node:stream").Stream[];
  env: Record<string, string>;
  release(): void;
}

export interface KernelClientOptions {
  /** Launch as this kernelspec says (argv, env added to `env`, interrupt_mode). */
  kernelSpec?: KernelSpecLaunch;
  /** Kernel command; `{connection_file}` is replaced. Default: this package's `kernel` command. */
  argv?: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** How interrupt() reaches the kernel (kernelspec `interrupt_mode`). Default "message" for our kernel, "signal" otherwise. */
  interruptMode?: InterruptMode;
  /** "pipe" keeps the kernel's own stdout/stderr (see `stderrTail`); "inherit" passes them through. */
  stdio?: "pipe" | "inherit" | "ignore";
  /**
   * Text for the kernel process's stdin, which is then closed (EOF); a promise is written when
   * it resolves, so the kernel can start before the text exists (a restarted kernel gets it
   * again). Without it the kernel's stdin is not opened.
   */
  input?: Promise<string> | string;
  /**
   * Asked before each kernel process is spawned: streams it inherits as its fds 3, 4, …, with
   * variables for its environment; `release` runs right after the spawn (used by `run` to hand
   * the kernel a compiler already starting, see kernel/compiler/process.ts).
   */
  inherit?: () => InheritedStdio | undefined;
  /** Milliseconds to wait for the first kernel_info_reply with a live iopub. Default 30 s. */
  startTimeout?: number;
  /** Answers `input_request`s from the kernel (cells calling input()). Default: answers "". */
  onInput?: (request: InputRequest, msg: Message) => string | Promise<string>;
  username?: string;
}

export interface RequestOptions {
  metadata?: Record<string, unknown>;
  buffers?: Buffer[];
  /** Milliseconds; rejects with KernelClientError("TIMEOUT") after it. Default: no limit. */
  timeout?: number;
}

export interface ExecuteOptions extends RequestOptions {
  silent?: boolean;
  store_history?: boolean;
  allow_stdin?: boolean;
  stop_on_error?: boolean;
  user_expressions?: Record<string, string>;
  /** Called with each iopub message of this request as it arrives. */
  onOutput?: (msg: Message) => void;
  /** Milliseconds to wait for the idle status after the reply (default 10 s). */
  idleGrace?: number;
}

export interface ExecuteResult {
  reply: Message;
  /** iopub messages of this request up to (not including) its idle status, in order. */
  outputs: Message[];
  /** False when the kernel's idle status for this request never came (within `idleGrace`). */
  idle: boolean;
}

export class KernelClientError extends Error {
  constructor(
    readonly code: "TIMEOUT" | "KERNEL_DIED" | "CLOSED" | "START_FAILED",
    message: string,
  ) {
    super(message);
    this.name = "KernelClientError";
  }
}
