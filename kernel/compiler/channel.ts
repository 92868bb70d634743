// The byte stream between the kernel and a compiler process (a socket on the compiler's
// fd 3): V8-serialized messages, each after its length as 4 bytes. A plain socket rather
// than Node's IPC channel, because a socket can be handed from the process that started the
// compiler (`tslab-mlflow run`) to the kernel it starts next (see process.ts).
import v8 from "node:v8";
import type { Duplex } from "node:stream";

const HEADER = 4;

export function sendMessage(socket: Duplex, message: unknown): void {
  const body = v8.serialize(message);
  const header = Buffer.allocUnsafe(HEADER);
  header.writeUInt32BE(body.length);
  socket.write(Buffer.concat([header, body]));
}

export function onMessages(socket: Duplex, listener: (message: unknown) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= HEADER) {
      const end = HEADER + buffered.readUInt32BE(0);
      if (buffered.length < end) break;
      const message = v8.deserialize(buffered.subarray(HEADER, end));
      buffered = buffered.subarray(end);
      listener(message);
    }
  });
}
