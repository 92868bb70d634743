// The tags MLflow's UI reads to show where a run came from: source type and name, user,
// run name, description, git commit (plus whether the tree was dirty), and our own tags for
// the cell id and execution count so reruns of one cell can be grouped.

import { execFile } from "node:child_process";
import os from "node:os";
import path from "node:path";
import type { Tag } from "../tracking/index.js";

export const TAG = {
  sourceType: "mlflow.source.type",
  sourceName: "mlflow.source.name",
  user: "mlflow.user",
  runName: "mlflow.runName",
  note: "mlflow.note.content",
  parentRunId: "mlflow.parentRunId",
  gitCommit: "mlflow.source.git.commit",
  gitBranch: "mlflow.source.git.branch",
  gitDirty: "tslab_mlflow.git.dirty",
  cellId: "tslab_mlflow.cell_id",
  executionCount: "tslab_mlflow.execution_count",
} as const;

/** What a frontend or the environment tells us about where the code runs. */
export interface SourceInfo {
  /** Notebook path from the frontend (execute_request metadata), if any. */
  notebookPath?: string;
  env?: Record<string, string | undefined>;
}

/** The notebook's path as the frontend or Jupyter (`JPY_SESSION_NAME`) gives it, else undefined. */
export function notebookPath(info: SourceInfo): string | undefined {
  const env = info.env ?? process.env;
  return info.notebookPath || env.JPY_SESSION_NAME || undefined;
}

/** The honest source name: the notebook path, or a marker saying it is not known. */
export const sourceName = (info: SourceInfo): string => notebookPath(info) ?? "<kernel session>";

export function userName(env: Record<string, string | undefined> = process.env): string {
  try {
    return os.userInfo().username;
  } catch {
    // No passwd entry (some containers): fall back to what the shell says.
    return env.USER ?? env.LOGNAME ?? "unknown";
  }
}

export interface RunTagInput extends SourceInfo {
  runName?: string;
  description?: string;
  cellId?: string;
  executionCount?: number;
  parentRunId?: string;
}

/** Tags known without any I/O, set when the run is created. */
export function systemTags(input: RunTagInput): Tag[] {
  const tags: Tag[] = [
    { key: TAG.sourceType, value: "NOTEBOOK" },
    { key: TAG.sourceName, value: sourceName(input) },
    { key: TAG.user, value: userName(input.env) },
  ];
  if (input.runName) tags.push({ key: TAG.runName, value: input.runName });
  if (input.description) tags.push({ key: TAG.note, value: input.description });
  if (input.parentRunId) tags.push({ key: TAG.parentRunId, value: input.parentRunId });
  if (input.cellId) tags.push({ key: TAG.cellId, value: input.cellId });
  if (input.executionCount !== undefined) tags.push({ key: TAG.executionCount, value: String(input.executionCount) });
  return tags;
}

function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile("git", args, { cwd, timeout: 5000, windowsHide: true }, (err, stdout) => resolve(err ? undefined : stdout.toString()));
  });
}

/**
 * Git tags for the notebook's directory when it is inside a work tree; empty otherwise.
 * Asynchronous so it runs beside the cell instead of delaying it.
 */
export async function gitTags(cwd: string): Promise<Tag[]> {
  const commit = (await git(cwd, ["rev-parse", "HEAD"]))?.trim();
  if (!commit) return [];
  const [status, branch] = await Promise.all([
    git(cwd, ["status", "--porcelain", "--untracked-files=no"]),
    git(cwd, ["rev-parse", "--abbrev-ref", "HEAD"]),
  ]);
  const tags: Tag[] = [{ key: TAG.gitCommit, value: commit }];
  if (branch?.trim() && branch.trim() !== "HEAD") tags.push({ key: TAG.gitBranch, value: branch.trim() });
  if (status !== undefined) tags.push({ key: TAG.gitDirty, value: String(status.trim().length > 0) });
  return tags;
}

/**
 * Git state per directory, sampled without delaying cells: the first run in a directory waits
 * for git; later runs get the last sample at once while a fresh one is taken in the background
 * when it is older than `maxAgeMs` (so a commit or an edit shows up in the next run or so).
 */
export class GitSampler {
  private readonly samples = new Map<string, { at: number; tags: Promise<Tag[]>; refreshing?: boolean }>();

  constructor(
    private readonly maxAgeMs = 2000,
    private readonly read: (cwd: string) => Promise<Tag[]> = gitTags,
  ) {}

  tags(cwd: string): Promise<Tag[]> {
    const s = this.samples.get(cwd);
    if (!s) {
      const tags = this.read(cwd);
      this.samples.set(cwd, { at: Date.now(), tags });
      return tags;
    }
    if (Date.now() - s.at > this.maxAgeMs && !s.refreshing) {
      s.refreshing = true;
      void this.read(cwd).then(
        (tags) => this.samples.set(cwd, { at: Date.now(), tags: Promise.resolve(tags) }),
        () => (s.refreshing = false),
      );
    }
    return s.tags;
  }
}

/** The directory a notebook's relative paths resolve against. */
export const notebookDir = (info: SourceInfo, cwd = process.cwd()): string => {
  const p = notebookPath(info);
  return p && path.isAbsolute(p) ? path.dirname(p) : cwd;
};
