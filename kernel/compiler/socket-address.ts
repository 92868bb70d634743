// The shared compiler service's Unix socket, connected to and listened on by path.
//
// Linux fits at most 107 bytes of path in a socket address, and a cache folder deep in a
// workspace (a CI checkout's, a bench's temporary one) gives longer socket paths: every kernel
// there compiled on its own, ~0.5 s slower to its first result. For such a path the folder is
// opened and the socket named as /proc/self/fd/N/<name>, which resolves to the same file.
import fs from "node:fs";
import net from "node:net";
import path from "node:path";

const MAX_SOCKET_PATH = 107;
/** Room `/proc/self/fd/<fd>/` takes in an address. */
const FD_PREFIX_BYTES = 30;

/** An address for `socketPath` that fits, valid until `release` (which closes the folder opened for it). */
function socketAddress(socketPath: string): { address: string; release(): void } {
  if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) return { address: socketPath, release: () => {} };
  const name = path.basename(socketPath);
  if (process.platform !== "linux" || Buffer.byteLength(name) > MAX_SOCKET_PATH - FD_PREFIX_BYTES) {
    throw new Error(`socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes`);
  }
  const fd = fs.openSync(path.dirname(socketPath), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  let open = true;
  const release = () => {
    if (open) fs.closeSync(fd);
    open = false;
  };
  return { address: `/proc/self/fd/${fd}/${name}`, release };
}

/** A connection to the socket at `socketPath`, or undefined if nothing accepts there. */
export function connectSocket(socketPath: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const { address, release } = socketAddress(socketPath);
    const s = net.connect(address);
    s.once("connect", () => {
      release();
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", () => {
      release();
      resolve(undefined);
    });
  });
}

/** Makes `server` listen on the socket at `socketPath`. */
export function listenOn(server: net.Server, socketPath: string): Promise<void> {
  const { address, release } = socketAddress(socketPath);
  return new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => {
      release();
      reject(e);
    };
    server.once("error", failed);
    server.listen(address, () => {
      server.off("error", failed);
      release();
      resolve();
    });
  });
}
