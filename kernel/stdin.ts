// The stdin channel: a running cell's input() asks the frontend with an input_request and
// waits for its input_reply. One question is open at a time (a newer one supersedes it);
// an interrupt rejects it, so a cell waiting for input can be stopped.
import { childMessage } from "../protocol/messages.js";
import { decode } from "../protocol/wire.js";
import type { Dispatcher } from "./dispatch.js";
import type { LiveCell } from "./cell.js";

export class Stdin {
  private pending: { resolve(v: string): void; reject(e: Error): void } | undefined;

  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly key: string,
    /** Runs before a question is sent: output the cell printed first must show before the prompt. */
    private readonly beforeAsking: () => void,
    private readonly log: (line: string) => void,
  ) {}

  /** Asks the frontend of `cell`'s request; resolves with what the user typed. */
  ask(cell: LiveCell, prompt: string, password: boolean): Promise<string> {
    if (!cell.allowStdin) {
      return Promise.reject(new Error("input(): this frontend does not accept input (the request's allow_stdin is false)"));
    }
    this.beforeAsking();
    this.pending?.reject(new Error("input(): superseded by a newer input request"));
    const msg = childMessage("input_request", { prompt, password }, cell.request, this.dispatcher.session);
    const answer = new Promise<string>((resolve, reject) => {
      this.pending = { resolve, reject };
    });
    const question = this.pending;
    // Jupyter routes stdin by the identity of the shell socket that sent the request.
    this.dispatcher
      .ask(msg, cell.identities, () => this.pending === question)
      .catch((e: Error) => {
        this.log(`input_request not delivered: ${e.message}`);
        question?.reject(new Error(`input(): the frontend's stdin channel is not connected (${e.message})`));
      });
    return answer.finally(() => {
      if (this.pending === question) this.pending = undefined;
    });
  }

  /** Frames read off the stdin socket: an input_reply answers the open question. */
  receive(frames: Buffer[]): void {
    const d = decode(frames, this.key, this.dispatcher.signatures);
    if (!d.ok) return this.log(`dropped stdin message (${d.reason}): ${d.detail}`);
    if (d.msg.header.msg_type !== "input_reply") return this.log(`unexpected stdin message ${d.msg.header.msg_type}`);
    const value = d.msg.content.value;
    this.pending?.resolve(typeof value === "string" ? value : String(value ?? ""));
  }

  /** Stops the open question, if any (the cell's input() rejects with an "Interrupted" error). */
  interrupt(): void {
    this.pending?.reject(Object.assign(new Error("input was interrupted"), { name: "Interrupted" }));
  }
}
