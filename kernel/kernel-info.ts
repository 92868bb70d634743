// The kernel_info_reply: who this kernel is and the language it speaks, with the versions
// actually running (the package's, tslab's TypeScript's, Node.js's).
import { createRequire } from "node:module";
import { PROTOCOL_VERSION, type KernelInfoReply } from "../protocol/messages.js";

const require = createRequire(import.meta.url);
const PKG = require("../../package.json") as { version: string };
const TS_VERSION = (
  require(
    require.resolve("@tslab/typescript-for-tslab/package.json", {
      paths: [require.resolve("tslab")],
    }),
  ) as { version: string }
).version;

export function kernelInfo(): KernelInfoReply {
  return {
    status: "ok",
    protocol_version: PROTOCOL_VERSION,
    implementation: "tslab-mlflow",
    implementation_version: PKG.version,
    language_info: {
      name: "typescript",
      version: TS_VERSION,
      mimetype: "text/typescript",
      file_extension: ".ts",
      codemirror_mode: { name: "javascript", typescript: true },
      pygments_lexer: "typescript",
      nbconvert_exporter: "script",
      // Not a spec field: the runtime the TypeScript runs on.
      node_version: process.version,
    },
    banner: `tslab-mlflow ${PKG.version}: TypeScript ${TS_VERSION} on Node.js ${process.version}`,
    help_links: [{ text: "TypeScript handbook", url: "https://www.typescriptlang.org/docs/handbook/" }],
    debugger: false,
  };
}
