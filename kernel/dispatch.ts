// The one wrapper every request goes through: verify and decode, publish
// `busy`, check the content against its message type (protocol/request-content.ts),
// run the channel's handler with that typed content, send its reply, flush outputs,
// publish `idle`. Unknown message types are logged; content that fails its check, or a
// handler that throws, gets an error reply naming what went wrong. Handlers never
// publish status themselves.
//
// Handler tables are mapped types over the channel's message map (protocol/messages.ts):
// each handler gets its request's content typed and returns its reply's type.
//
// Each channel is served in order (a cell finishes before the next shell
// request starts) but channels are independent, so control requests are
// answered while a shell request awaits.
import {
  replyType,
  childMessage,
  type ChannelMessages,
  type ControlChannel,
  type IopubMessages,
  type Message,
  type ShellChannel,
} from "../protocol/messages.js";
import { ContentError, controlContent, shellContent, type ContentChecks } from "../protocol/request-content.js";
import { decode, encode, SignatureHistory } from "../protocol/wire.js";
import type { Transport } from "./transport.js";
import { runtimeError } from "./executor.js";

export type RequestChannel = "shell" | "control";

export interface Request {
  channel: RequestChannel;
  identities: Buffer[];
  /** The message as it arrived (its content unchecked: handlers use the checked content they are given). */
  msg: Message;
  /** Arrival order on its channel (1, 2, ...), counted when read from the socket. */
  seq: number;
}

/** Handles one msg_type: its checked content in, its reply content out (`void`: no reply is sent). */
export type Handler<Content, Reply> = (content: Content, req: Request) => Promise<Reply> | Reply;
/** One handler per msg_type of a channel's message map. */
export type HandlerTable<M extends ChannelMessages<M>> = { [K in keyof M]: Handler<M[K][0], M[K][1]> };

export interface HandlerTables {
  shell: HandlerTable<ShellChannel>;
  control: HandlerTable<ControlChannel>;
}

export class Dispatcher {
  private readonly queues: Record<RequestChannel, Promise<void>> = { shell: Promise.resolve(), control: Promise.resolve() };
  /** How many messages each channel has read off its socket so far. */
  readonly received: Record<RequestChannel, number> = { shell: 0, control: 0 };
  /** Runs before each `idle` (flushes batched output). */
  beforeIdle: () => void = () => {};
  /** Signatures of every request accepted on shell, control and stdin: a replayed one is dropped. */
  readonly signatures = new SignatureHistory();

  constructor(
    private readonly transport: Transport,
    private readonly key: string,
    readonly session: string,
    private readonly tables: HandlerTables,
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

  send(channel: "shell" | "control", msg: Message<unknown>, identities: Buffer[]): void {
    this.transport.send(channel, encode(msg as Message, this.key, identities));
  }

  /** Sends on stdin once the frontend's stdin socket is there (see Transport.deliver). */
  ask(msg: Message<unknown>, identities: Buffer[], wanted: () => boolean): Promise<void> {
    return this.transport.deliver(encode(msg as Message, this.key, identities), wanted);
  }

  private async handle(channel: RequestChannel, frames: Buffer[], seq: number): Promise<void> {
    const d = decode(frames, this.key, this.signatures);
    if (!d.ok) {
      this.log(`dropped ${channel} message (${d.reason}): ${d.detail}`);
      return;
    }
    const req: Request = { channel, identities: d.identities, msg: d.msg, seq };
    const type = d.msg.header.msg_type;
    this.publish("status", { execution_state: "busy" }, d.msg);
    try {
      const served =
        channel === "shell"
          ? this.serve(this.tables.shell, shellContent, type, req)
          : this.serve(this.tables.control, controlContent, type, req);
      if (!served) {
        this.log(`unknown ${channel} message type ${JSON.stringify(type)}; ignored`);
        return;
      }
      let content: object | void;
      try {
        content = await served();
      } catch (e) {
        this.log(e instanceof ContentError ? `${type} refused: ${e.message}` : `${type} handler failed: ${(e as Error).stack ?? e}`);
        content = { status: "error", ...runtimeError(e) };
      }
      if (content) this.send(channel, childMessage(replyType(type), content, d.msg, this.session), d.identities);
    } finally {
      this.beforeIdle();
      this.publish("status", { execution_state: "idle" }, d.msg);
    }
  }

  /**
   * The call of `type`'s handler with its checked content, or undefined when the table has
   * none. The content check runs inside the call, so a ContentError is answered like any
   * handler failure.
   */
  private serve<M extends ChannelMessages<M>>(
    table: HandlerTable<M>,
    checks: ContentChecks<M>,
    type: string,
    req: Request,
  ): (() => Promise<object | void>) | undefined {
    if (!hasKey(table, type)) return undefined;
    return () => this.call(table, checks, type, req);
  }

  private async call<M extends ChannelMessages<M>, K extends keyof M>(
    table: HandlerTable<M>,
    checks: ContentChecks<M>,
    type: K,
    req: Request,
  ): Promise<object | void> {
    const content = checks[type](req.msg.content);
    const reply: unknown = await table[type](content, req);
    return typeof reply === "object" && reply !== null ? reply : undefined;
  }
}

function hasKey<T extends object>(o: T, key: string): key is Extract<keyof T, string> {
  return Object.hasOwn(o, key);
}
