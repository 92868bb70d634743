// Frames a worker thread's ZeroMQ socket may send safely.
//
// ZeroMQ sends a Buffer of over 128 bytes without copying it and, once its I/O thread is done
// with it, hands it back to the addon instance of the thread that sent it. The I/O thread
// belongs to the context every thread shares, so it outlives a worker thread: if the worker
// has ended by then, that hand-back writes into freed memory and the process aborts later
// ("corrupted double-linked list" as the kernel exited). A string is copied into memory the
// I/O thread frees itself. So a worker's frames go as strings where they are UTF-8 (the
// signature and JSON parts of a Jupyter message); one of 128 bytes or less is copied anyway.
// Only a binary frame over 128 bytes (a routing id a frontend chose that long) goes as is.
import { isUtf8 } from "node:buffer";

/** Size above which the addon sends a Buffer without copying it. */
const ZERO_COPY_OVER = 128;

export function copiedFrames(frames: Buffer[]): (Buffer | string)[] {
  return frames.map((f) => (f.byteLength > ZERO_COPY_OVER && isUtf8(f) ? f.toString("utf8") : f));
}
