// Introspection requests: complete_request, inspect_request and is_complete_request.
// Extensions answer first (a magic completes its own name); otherwise the compiler
// answers for TypeScript. The protocol counts cursor positions in Unicode code points,
// TypeScript in UTF-16 units: the conversion happens here, both ways.
import type {
  CompleteReply, CompleteRequest, InspectReply, InspectRequest, IsCompleteReply, IsCompleteRequest,
} from "../protocol/messages.js";
import type { KernelExtension } from "./extensions.js";
import type { Executor } from "./executor.js";
import type { Compiler } from "./compiler/index.js";
import { fromCodePoints, toCodePoints } from "./unicode.js";

export class Introspection {
  constructor(
    private readonly extensions: readonly KernelExtension[],
    private readonly executor: Executor,
    private readonly compiler: Compiler,
  ) {}

  async complete(c: CompleteRequest): Promise<CompleteReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const r = ext.complete?.(code, pos);
      if (r) return completeReply(code, r.matches, r.cursorStart, r.cursorEnd);
    }
    const r = await this.executor.complete(code, pos);
    return completeReply(code, r.candidates, r.start, r.end);
  }

  async inspect(c: InspectRequest): Promise<InspectReply> {
    const { code, pos } = codeAndCursor(c);
    for (const ext of this.extensions) {
      const data = ext.inspect?.(code, pos);
      if (data) return { status: "ok", found: true, data, metadata: {} };
    }
    // A cursor just after a name (where frontends put it) has no quick info of its own.
    const info = (await this.executor.inspect(code, pos)) ?? (pos > 0 ? await this.executor.inspect(code, pos - 1) : undefined);
    if (!info || !info.display) return { status: "ok", found: false, data: {}, metadata: {} };
    const text = [info.display, info.documentation, ...info.tags].filter(Boolean).join("\n\n");
    const markdown = "```typescript\n" + info.display + "\n```" + (info.documentation ? "\n\n" + info.documentation : "");
    return { status: "ok", found: true, data: { "text/plain": text, "text/markdown": markdown }, metadata: {} };
  }

  async isComplete(c: IsCompleteRequest): Promise<IsCompleteReply> {
    // A magic line is whole as typed: the magic, not TypeScript, reads what follows.
    if (/^\s*%/.test(c.code)) return { status: "complete" };
    return this.compiler.isComplete(c.code);
  }
}

/** The request's code and its cursor as a UTF-16 index (absent cursor: the end of the code). */
function codeAndCursor(c: { code: string; cursor_pos?: number }): { code: string; pos: number } {
  return { code: c.code, pos: fromCodePoints(c.code, c.cursor_pos ?? [...c.code].length) };
}

function completeReply(code: string, matches: string[], start: number, end: number): CompleteReply {
  return { status: "ok", matches, cursor_start: toCodePoints(code, start), cursor_end: toCodePoints(code, end), metadata: {} };
}
