// The kernel's five ZeroMQ sockets. Shell, stdin and iopub live on the main
// thread; control and heartbeat live in a worker (see control-worker.ts) so
// they answer while user code blocks the main thread.
//
// zeromq v6 allows one pending receive and one pending send per socket, so
// each socket has one reader loop and one chained send queue.
import * as zmq from "zeromq";
import { type ConnectionInfo, endpoint } from "../protocol/connection.js";
import { type ControlThread, controlThreadFor } from "./control-thread.js";
import type { InterruptState } from "./interrupt-state.js";

/** How long an input_request waits for the frontend's stdin socket, and how often it is tried. */
const STDIN_WAIT_MS = 10_000;
const STDIN_RETRY_MS = 10;

export type Channel = "shell" | "control" | "stdin" | "iopub";
export type FramesHandler = (frames: Buffer[]) => void;

export class Transport {
  private readonly queues = new Map<zmq.Socket, Promise<unknown>>();
  private closed = false;

  private constructor(
    private readonly shell: zmq.Router,
    private readonly stdin: zmq.Router,
    private readonly iopub: zmq.Publisher,
    private readonly control: ControlThread,
    private readonly log: (line: string) => void,
  ) {}

  /** Shared with the control worker, which raises SIGINT for interrupt_request. */
  get interrupts(): InterruptState {
    return this.control.interrupts;
  }

  static async open(info: ConnectionInfo, log: (line: string) => void): Promise<Transport> {
    const shell = new zmq.Router({ handover: true });
    // Mandatory routing: a message for a frontend whose stdin socket is not connected yet is
    // refused (and sent again, see deliver) instead of silently dropped.
    const stdin = new zmq.Router({ handover: true, mandatory: true, sendTimeout: 0 });
    const iopub = new zmq.Publisher();
    const sockets = [shell, stdin, iopub];
    // Usually started by prestart.ts while the kernel's modules loaded.
    const control = controlThreadFor({ control: endpoint(info, "control"), hb: endpoint(info, "hb"), key: info.key });
    try {
      await shell.bind(endpoint(info, "shell"));
      await stdin.bind(endpoint(info, "stdin"));
      await iopub.bind(endpoint(info, "iopub"));
      await control.ready;
    } catch (e) {
      for (const s of sockets) s.close();
      await control.stop();
      throw e;
    }
    return new Transport(shell, stdin, iopub, control, log);
  }

  /** Starts the reader loops; each message's frames go to its channel's handler. */
  listen(handlers: { shell: FramesHandler; control: FramesHandler; stdin: FramesHandler }): void {
    void this.readLoop(this.shell, handlers.shell);
    void this.readLoop(this.stdin, handlers.stdin);
    this.control.listen((m) => {
      if ("frames" in m) handlers.control(m.frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
      else this.log(m.error);
    });
  }

  /** Queues `frames` on a channel's socket (stdin, which may wait for its frontend, goes through deliver). */
  send(channel: Exclude<Channel, "stdin">, frames: Buffer[]): void {
    if (this.closed) return;
    if (channel === "control") {
      this.control.post({ send: frames });
      return;
    }
    const socket = channel === "shell" ? this.shell : this.iopub;
    const prev = this.queues.get(socket) ?? Promise.resolve();
    const next = prev.then(() => socket.send(frames)).catch((e) => this.log(`${channel} send failed: ${(e as Error).message}`));
    this.queues.set(socket, next);
  }

  /**
   * Sends on stdin to a frontend that may not have connected its stdin socket yet (a client
   * connects its sockets at once but each connects on its own, and a quick first cell can ask
   * before): tried again every STDIN_RETRY_MS while `wanted()`, for up to STDIN_WAIT_MS.
   */
  async deliver(frames: Buffer[], wanted: () => boolean): Promise<void> {
    const until = Date.now() + STDIN_WAIT_MS;
    for (;;) {
      if (this.closed || !wanted()) return;
      try {
        await this.stdin.send(frames);
        return;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if ((code !== "EHOSTUNREACH" && code !== "EAGAIN") || Date.now() >= until) throw e;
      }
      await new Promise((resolve) => setTimeout(resolve, STDIN_RETRY_MS));
    }
  }

  /** Resolves when everything queued so far has been handed to ZeroMQ. */
  async drain(): Promise<void> {
    await Promise.all(this.queues.values());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.drain();
    this.closed = true;
    await this.control.stop();
    for (const s of [this.shell, this.stdin, this.iopub]) s.close();
  }

  private async readLoop(socket: zmq.Router, handle: FramesHandler): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (e) {
        if (this.closed || socket.closed) return;
        this.log(`receive failed: ${(e as Error).message}`);
        continue;
      }
      try {
        handle(frames);
      } catch (e) {
        this.log(`handler failed: ${(e as Error).stack ?? e}`);
      }
    }
  }
}
