// A Jupyter client over ZeroMQ: starts a kernel process (ours by default, or any
// kernelspec argv), connects shell/control/stdin DEALERs, an iopub SUB and a
// heartbeat REQ, and offers request/reply and execute-with-outputs. Used by
// `tslab-mlflow run` to execute notebooks, by the benchmarks, and by the tests.
//
// zeromq v6 allows one pending receive per socket, so each socket has exactly one
// reader loop that routes what arrives by parent msg_id.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as zmq from "zeromq";
import { endpoint, type ConnectionInfo } from "../protocol/connection.js";
import { newConnectionInfo, writeConnectionFile } from "./connection-file.js";
import { KernelProcess, type ExitInfo } from "./kernel-process.js";
import {
  KernelClientError,
  type ExecuteOptions,
  type ExecuteResult,
  type InterruptMode,
  type KernelClientOptions,
  type RequestChannel,
  type RequestOptions,
} from "./client-types.js";
import { childMessage, type InputRequest, type Message } from "../protocol/messages.js";
import { decode, encode } from "../protocol/wire.js";

export * from "./client-types.js";
export type { ExitInfo };

interface Pending {
  resolve(m: Message): void;
  reject(e: Error): void;
}
interface Collector {
  outputs: Message[];
  onOutput?: (m: Message) => void;
  idle(): void;
}

/** Kernels started, each on new ports, when one exits because a port it was given was taken meanwhile. */
const START_ATTEMPTS_ON_PORT_TAKEN = 3;
const DEFAULT_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "cli", "main.js");

export class KernelClient {
  readonly session = randomUUID();
  readonly connectionFile: string;
  /** The first kernel_info_reply received. */
  kernelInfo: Message | undefined;
  /** performance.now() marks of the last start: spawn, first kernel_info_reply, iopub live. */
  readonly timings = { spawned: 0, firstReply: 0, ready: 0 };

  private process!: KernelProcess;
  private readonly shell: zmq.Dealer;
  private readonly control: zmq.Dealer;
  private readonly stdin: zmq.Dealer;
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private hb: zmq.Request | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly collectors = new Map<string, Collector>();
  private readonly iopubListeners = new Set<(m: Message) => void>();
  private readonly exitListeners = new Set<(e: ExitInfo) => void>();
  private closed = false;
  private expectingExit = false;

  private constructor(
    readonly connection: ConnectionInfo,
    private readonly opts: KernelClientOptions,
    connectionFile: string,
  ) {
    this.connectionFile = connectionFile;
    // Jupyter routes stdin by the shell socket's identity, so both share it.
    this.shell = new zmq.Dealer({ linger: 0, routingId: this.session });
    this.stdin = new zmq.Dealer({ linger: 0, routingId: this.session });
    this.control = new zmq.Dealer({ linger: 0 });
  }

  /** Spawns a kernel on a fresh connection file and waits until it answers with iopub live. */
  static async start(opts: KernelClientOptions = {}): Promise<KernelClient> {
    if (opts.kernelSpec) {
      const spec = opts.kernelSpec;
      opts = {
        ...opts,
        argv: opts.argv ?? spec.argv,
        env: { ...(opts.env ?? process.env), ...spec.env },
        // Jupyter's default when a kernelspec names no mode.
        interruptMode: opts.interruptMode ?? spec.interrupt_mode ?? "signal",
      };
    }
    for (let attempt = 1; ; attempt++) {
      const info = await newConnectionInfo();
      const file = writeConnectionFile(info);
      const client = new KernelClient(info, opts, file);
      try {
        client.spawnKernel();
        client.connectSockets();
        await client.waitReady(opts.startTimeout ?? 30_000);
        return client;
      } catch (e) {
        await client.close();
        // The ports were free when picked, but another process took one before the kernel bound
        // it (a connection's own port, or a bind, in between): new ports, a new kernel.
        if (attempt < START_ATTEMPTS_ON_PORT_TAKEN && e instanceof KernelClientError && /EADDRINUSE|Address already in use/.test(e.message))
          continue;
        throw e;
      }
    }
  }

  get pid(): number | undefined {
    return this.process?.pid;
  }

  get alive(): boolean {
    return this.process?.alive ?? false;
  }

  /** Resolves when the current kernel process ends. */
  get exited(): Promise<ExitInfo> {
    return this.process.exited;
  }

  /** The kernel's own stdout and stderr (last 64 KiB), for diagnostics. */
  get stderrTail(): string {
    return this.process?.outputTail ?? "";
  }

  /** Sends a request on shell or control and resolves with its reply. */
  request(channel: RequestChannel, msgType: string, content: object = {}, opts: RequestOptions = {}): Promise<Message> {
    const msg = this.message(msgType, content, opts);
    return this.sendAndAwait(channel, msg, opts.timeout);
  }

  /** Sends a message that gets no reply (comm_msg, comm_close...). Returns its msg_id. */
  async send(channel: RequestChannel, msgType: string, content: object = {}, opts: RequestOptions = {}): Promise<string> {
    const msg = this.message(msgType, content, opts);
    await this.socket(channel).send(encode(msg, this.connection.key));
    return msg.header.msg_id;
  }

  /** Runs code; resolves once its execute_reply and its idle status have arrived. */
  async execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteResult> {
    const msg = this.message(
      "execute_request",
      {
        code,
        silent: opts.silent ?? false,
        store_history: opts.store_history ?? true,
        user_expressions: opts.user_expressions ?? {},
        allow_stdin: opts.allow_stdin ?? this.opts.onInput !== undefined,
        stop_on_error: opts.stop_on_error ?? true,
      },
      opts,
    );
    const id = msg.header.msg_id;
    const outputs: Message[] = [];
    let idle!: () => void;
    const idleSeen = new Promise<void>((r) => (idle = r));
    // Registered before sending so no output can slip past.
    this.collectors.set(id, { outputs, onOutput: opts.onOutput, idle });
    try {
      const reply = await this.sendAndAwait("shell", msg, opts.timeout);
      // Outputs may trail the reply, but a kernel that never publishes this idle
      // (stock tslab loses one now and then) must not hang the caller: like nbclient,
      // wait a grace period after the reply, then go on and say so.
      let idleTimer: NodeJS.Timeout | undefined;
      const graceOver = new Promise<boolean>((r) => (idleTimer = setTimeout(() => r(false), opts.idleGrace ?? 10_000)));
      const idleArrived = await Promise.race([idleSeen.then(() => true), graceOver]);
      clearTimeout(idleTimer);
      return { reply, outputs, idle: idleArrived };
    } finally {
      this.collectors.delete(id);
    }
  }

  /** Every iopub message, in arrival order. Returns an unsubscribe function. */
  onIopub(listener: (m: Message) => void): () => void {
    this.iopubListeners.add(listener);
    return () => this.iopubListeners.delete(listener);
  }

  /** Called once when the kernel process ends, expected or not. */
  onExit(listener: (e: ExitInfo) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** Interrupts the running cell, by SIGINT or by interrupt_request, per interrupt mode. */
  async interrupt(timeout = 10_000): Promise<void> {
    if (this.interruptMode === "signal") {
      this.process.kill("SIGINT");
      return;
    }
    await this.request("control", "interrupt_request", {}, { timeout });
  }

  /** True if the heartbeat echoes within `timeout` ms. */
  async heartbeat(timeout = 2000): Promise<boolean> {
    this.hb ??= this.newHeartbeat(timeout);
    this.hb.receiveTimeout = timeout;
    this.hb.sendTimeout = timeout;
    try {
      await this.hb.send("ping");
      const [echo] = await this.hb.receive();
      return echo.toString() === "ping";
    } catch {
      // A REQ socket that missed its reply cannot send again: start a fresh one.
      this.hb.close();
      this.hb = undefined;
      return false;
    }
  }

  /**
   * Asks the kernel to shut down (control channel) and waits for the process to end,
   * killing it if it lingers. With `restart`, starts it again on the same connection.
   */
  async shutdown({ restart = false, timeout = 10_000 } = {}): Promise<void> {
    if (this.alive) {
      this.expectingExit = true;
      try {
        await this.request("control", "shutdown_request", { restart }, { timeout });
      } catch {
        // Dead or deaf: the kill below ends it either way.
      }
      await this.process.stop(timeout);
    }
    if (restart) {
      this.expectingExit = false;
      this.spawnKernel();
      await this.waitReady(this.opts.startTimeout ?? 30_000);
    }
  }

  /** Kills the kernel if still running, closes every socket, removes our connection file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.expectingExit = true;
    if (this.alive) await this.process.stop(0);
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s?.close();
    this.failPending(new KernelClientError("CLOSED", "kernel client closed"));
    // The file lives alone in a private temp dir made for it.
    fs.rmSync(path.dirname(this.connectionFile), { recursive: true, force: true });
  }

  // ---- internals ----------------------------------------------------------

  private get interruptMode(): InterruptMode {
    return this.opts.interruptMode ?? (this.opts.argv ? "signal" : "message");
  }

  private spawnKernel(): void {
    const argv = (this.opts.argv ?? [process.execPath, DEFAULT_ENTRY, "kernel", "--connection-file", "{connection_file}"]).map((a) =>
      a.replaceAll("{connection_file}", this.connectionFile),
    );
    this.timings.spawned = performance.now();
    const inherited = this.opts.inherit?.();
    const spawnOpts = inherited
      ? { ...this.opts, env: { ...(this.opts.env ?? process.env), ...inherited.env }, extraStdio: inherited.stdio }
      : this.opts;
    try {
      this.process = new KernelProcess(argv, spawnOpts, (info) => {
        if (!this.expectingExit) {
          this.failPending(
            new KernelClientError("KERNEL_DIED", `kernel exited (code ${info.code}, signal ${info.signal})\n${this.stderrTail}`),
          );
        }
        for (const l of this.exitListeners) l(info);
      });
    } finally {
      inherited?.release();
    }
  }

  private connectSockets(): void {
    const c = this.connection;
    this.shell.connect(endpoint(c, "shell"));
    this.control.connect(endpoint(c, "control"));
    this.stdin.connect(endpoint(c, "stdin"));
    this.iopub.subscribe();
    this.iopub.connect(endpoint(c, "iopub"));
    void this.readLoop(this.shell, (m) => this.settle(m));
    void this.readLoop(this.control, (m) => this.settle(m));
    void this.readLoop(this.stdin, (m) => void this.answerInput(m));
    void this.readLoop(this.iopub, (m) => this.routeIopub(m));
  }

  /**
   * Sends kernel_info until one is answered and a status has also arrived on iopub:
   * a SUB socket misses everything published before its subscription reaches the
   * kernel, so a reply alone does not prove outputs will be seen.
   */
  private async waitReady(timeout: number): Promise<void> {
    const deadline = Date.now() + timeout;
    let live = false;
    let replied = false;
    let wake = () => {};
    const stopIopub = this.onIopub((m) => {
      if (m.header.msg_type === "status" && !live) {
        live = true;
        wake();
      }
    });
    const stopExit = this.onExit(() => wake());
    try {
      while (!(live && replied)) {
        if (!this.alive) throw new KernelClientError("START_FAILED", `kernel exited before it was ready\n${this.stderrTail}`);
        if (Date.now() > deadline) {
          throw new KernelClientError("START_FAILED", `kernel did not become ready within ${timeout} ms\n${this.stderrTail}`);
        }
        // Unanswered attempts stay pending; a late reply to any of them counts.
        this.request("shell", "kernel_info_request", {}).then(
          (reply) => {
            if (!replied) {
              replied = true;
              this.kernelInfo = reply;
              this.timings.firstReply = performance.now();
              wake();
            }
          },
          () => {},
        );
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, replied ? 50 : 250);
        });
      }
      this.timings.ready = performance.now();
    } finally {
      stopIopub();
      stopExit();
    }
  }

  private async readLoop(socket: zmq.Dealer | zmq.Subscriber, onMessage: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        const decoded = decode(frames, this.connection.key);
        if (decoded.ok) onMessage(decoded.msg);
      }
    } catch (e) {
      // Closing a socket ends its pending receive; anything else is worth a trace.
      if (!this.closed) this.process.keep(`\n[client] reader stopped: ${(e as Error).message}\n`);
    }
  }

  private settle(reply: Message): void {
    const id = reply.parent_header.msg_id;
    const pending = id === undefined ? undefined : this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id!);
    pending.resolve(reply);
  }

  private routeIopub(msg: Message): void {
    for (const l of this.iopubListeners) l(msg);
    const id = msg.parent_header.msg_id;
    const collector = id === undefined ? undefined : this.collectors.get(id);
    if (!collector) return;
    if (msg.header.msg_type === "status") {
      if ((msg.content as { execution_state?: string }).execution_state === "idle") collector.idle();
      return;
    }
    collector.outputs.push(msg);
    collector.onOutput?.(msg);
  }

  private async answerInput(msg: Message): Promise<void> {
    if (msg.header.msg_type !== "input_request") return;
    let value = "";
    try {
      const request: InputRequest = { prompt: String(msg.content.prompt ?? ""), password: msg.content.password === true };
      value = this.opts.onInput ? await this.opts.onInput(request, msg) : "";
    } catch {
      value = "";
    }
    const reply = childMessage("input_reply", { value }, msg, this.session);
    reply.header.username = this.opts.username ?? "tslab-mlflow";
    await this.stdin.send(encode(reply, this.connection.key));
  }

  private message(msgType: string, content: object, opts: RequestOptions): Message {
    const msg = childMessage(msgType, content as Record<string, unknown>, undefined, this.session, opts.metadata ?? {});
    msg.header.username = this.opts.username ?? "tslab-mlflow";
    if (opts.buffers) msg.buffers = opts.buffers;
    return msg;
  }

  private socket(channel: RequestChannel): zmq.Dealer {
    if (this.closed) throw new KernelClientError("CLOSED", "kernel client closed");
    return channel === "shell" ? this.shell : this.control;
  }

  private async sendAndAwait(channel: RequestChannel, msg: Message, timeout?: number): Promise<Message> {
    const id = msg.header.msg_id;
    const replied = new Promise<Message>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    // The kernel may die while the send is still in flight: the rejection is awaited below.
    replied.catch(() => {});
    try {
      await this.socket(channel).send(encode(msg, this.connection.key));
      return await this.within(replied, timeout, `${msg.header.msg_type} ${id}`);
    } finally {
      this.pending.delete(id);
    }
  }

  private async within<T>(p: Promise<T>, timeout: number | undefined, what: string): Promise<T> {
    if (timeout === undefined) return p;
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new KernelClientError("TIMEOUT", `no answer to ${what} within ${timeout} ms`)), timeout);
    });
    try {
      return await Promise.race([p, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  private failPending(error: Error): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
  }

  private newHeartbeat(timeout: number): zmq.Request {
    const hb = new zmq.Request({ linger: 0, receiveTimeout: timeout, sendTimeout: timeout });
    hb.connect(endpoint(this.connection, "hb"));
    return hb;
  }
}
