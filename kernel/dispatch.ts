// The one wrapper every request goes through: verify and decode, publish
// `busy`, run the channel's handler, send its reply, flush outputs, publish
// `idle`. Unknown message types are logged; a handler that throws gets an
// error reply. Handlers never publish status themselves.
//
// Each channel is served in order (a cell finishes before the next shell
// request starts) but channels are independent, so control requests are
// answered while a shell request awaits.
import { replyType, childMessage, type IopubMessages, type Message } from "../protocol/messages.js";
import type { Transport } from "./transport.js";
import { decode, encode } from "../protocol/wire.js";
import { runtimeError } from "./executor.js";

export type RequestChannel = "shell" | "control";

export interface Request {
  channel: RequestChannel;
  identities: Buffer[];
  msg: Message;
  /** Arrival order on its channel (1, 2, ...), counted when read from the socket. */
  seq: number;
}

/** Returns the reply content, or undefined for messages that get no reply (comm_msg...). */
export type Handler = (req: Request) => Promise<object | undefined> | object | undefined;
export type HandlerTable = Record<string, Handler>;

export class Dispatcher {
  private readonly queues: Record<RequestChannel, Promise<void>> = { shell: Promise.resolve(), control: Promise.resolve() };
  /** How many messages each channel has read off its socket so far. */
  readonly received: Record<RequestChannel, number> = { shell: 0, control: 0 };
  /** Runs before each `idle` (flushes batched output). */
  beforeIdle: () => void = () => {};

  constructor(
    private readonly transport: Transport,
    private readonly key: string,
    readonly session: string,
    private readonly tables: Record<RequestChannel, HandlerTable>,
    private readonly log: (line: string) => void,
  ) {}

  /** Queues received frames for in-order handling on their channel. */
  receive(channel: RequestChannel, frames: Buffer[]): void {
    const seq = ++this.received[channel];
    this.queues[channel] = this.queues[channel].then(() => this.handle(channel, frames, seq));
  }

  publish<T extends keyof IopubMessages>(type: T, content: IopubMessages[T], parent?: Message<unknown>): void {
    const msg = childMessage(type, content, parent, this.session);
    this.transport.send("iopub", encode(msg as Message, this.key, [Buffer.from(type)]));
  }

  send(channel: "shell" | "control" | "stdin", msg: Message<unknown>, identities: Buffer[]): void {
    this.transport.send(channel, encode(msg as Message, this.key, identities));
  }

  private async handle(channel: RequestChannel, frames: Buffer[], seq: number): Promise<void> {
    const d = decode(frames, this.key);
    if (!d.ok) {
      this.log(`dropped ${channel} message (${d.reason}): ${d.detail}`);
      return;
    }
    const req: Request = { channel, identities: d.identities, msg: d.msg, seq };
    const type = d.msg.header.msg_type;
    this.publish("status", { execution_state: "busy" }, d.msg);
    try {
      const handler = Object.hasOwn(this.tables[channel], type) ? this.tables[channel][type] : undefined;
      if (!handler) {
        this.log(`unknown ${channel} message type ${JSON.stringify(type)}; ignored`);
        return;
      }
      let content: object | undefined;
      try {
        content = await handler(req);
      } catch (e) {
        this.log(`${type} handler failed: ${(e as Error).stack ?? e}`);
        content = { status: "error", ...runtimeError(e) };
      }
      if (content) this.send(channel, childMessage(replyType(type), content, d.msg, this.session), d.identities);
    } finally {
      this.beforeIdle();
      this.publish("status", { execution_state: "idle" }, d.msg);
    }
  }
}
