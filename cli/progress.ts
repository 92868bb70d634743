// Progress of `tslab-mlflow run`: a live bar on a terminal (cell i of n, elapsed, the
// running cell's first line), one plain line per finished cell otherwise (CI logs).

import cliProgress from "cli-progress";

export type CellOutcome = "ok" | "error" | "allowed error" | "timeout" | "interrupted" | "kernel died";

export interface Progress {
  start(total: number): void;
  /** `n` counts executed cells from 1; `index` is the cell's position in the notebook. */
  cellStarted(n: number, index: number, firstLine: string): void;
  cellFinished(n: number, index: number, outcome: CellOutcome, seconds: number, firstLine: string): void;
  /** Ends the bar (if any) so that what follows prints on clean lines. */
  stop(): void;
}

export function createProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  return stream.isTTY ? new BarProgress(stream) : new LineProgress(stream);
}

class BarProgress implements Progress {
  private readonly bar: cliProgress.SingleBar;
  private running = false;

  constructor(stream: NodeJS.WriteStream) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: "{bar} cell {current}/{total} | {duration_formatted} | {line}",
        hideCursor: true,
        barsize: 24,
        linewrap: false,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  start(total: number): void {
    this.bar.start(total, 0, { current: 0, line: "" });
    this.running = true;
  }

  cellStarted(n: number, _index: number, firstLine: string): void {
    this.bar.update({ current: n, line: firstLine });
  }

  cellFinished(n: number): void {
    this.bar.update(n);
  }

  stop(): void {
    if (this.running) this.bar.stop();
    this.running = false;
  }
}

class LineProgress implements Progress {
  private total = 0;
  constructor(private readonly stream: NodeJS.WritableStream) {}

  start(total: number): void {
    this.total = total;
    this.stream.write(`Executing ${total} code cell${total === 1 ? "" : "s"}\n`);
  }

  cellStarted(): void {}

  cellFinished(n: number, index: number, outcome: CellOutcome, seconds: number, firstLine: string): void {
    const width = String(this.total).length;
    const count = `[${String(n).padStart(width)}/${this.total}]`;
    this.stream.write(`${count} cell ${index} ${outcome} in ${seconds.toFixed(2)}s: ${firstLine}\n`);
  }

  stop(): void {}
}
