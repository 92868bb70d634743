// Earlier cells' declarations parsed again only when they changed.
//
// tslab keeps what earlier cells declared in one virtual file (`__prev__.d.ts`) and tells the
// watch program it changed before every conversion, completion and inspection, changed or
// not; the watch program then reads, parses and binds it again. Its text grows with the
// notebook (two declarations a cell: ~14 KB after 200 cells), and so did every cell's
// conversion: a one-line cell took 3 ms at the start of a notebook and 11 ms after 200 cells
// that declare something. A cell that declares nothing leaves the text as it was: here the
// watch program hears of the file only when its text differs from what it last heard of,
// and the program keeps the parsed file.
import type * as TS from "@tslab/typescript-for-tslab";
import { DECLARATIONS_FILE } from "./tslab-files.js";
import { withOverrides } from "./typescript-overrides.js";

type TypeScript = typeof import("@tslab/typescript-for-tslab");

export function withUnchangedDeclarationsKept(ts: TypeScript): TypeScript {
  const createWatchCompilerHost = (...args: unknown[]) => {
    const system = args[2] as TS.System;
    const watching = Object.create(system) as TS.System;
    watching.watchFile = (file, callback, ...rest) => {
      if (!DECLARATIONS_FILE.test(file)) return system.watchFile!(file, callback, ...rest);
      /** The text as of the last change the watch program heard of (undefined: it read the file itself). */
      let heard: string | undefined;
      return system.watchFile!(
        file,
        (name, kind, ...more) => {
          if (kind === ts.FileWatcherEventKind.Changed) {
            const text = system.readFile(name);
            if (text !== undefined && text === heard) return;
            heard = text;
          }
          callback(name, kind, ...more);
        },
        ...rest,
      );
    };
    args[2] = watching;
    return (ts.createWatchCompilerHost as (...a: unknown[]) => unknown)(...args);
  };
  return withOverrides(ts, { createWatchCompilerHost });
}
