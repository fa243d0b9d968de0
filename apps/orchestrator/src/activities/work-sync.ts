// A step's work directory (StepContext.workDir) kept where every host can reach it, for stores that the
// hosts do not share on disk (S3): a step that resumes from its own files (the zoo set folder, the decoder's
// checkpoints, the evaluation's stored calls) then resumes on whichever host retries it, not only on the host
// that started it. At the step's progress calls (between units, where its folder is consistent), at most every
// `everyMs`, the step's process links the folder's files into a staged copy; the activity uploads the files
// that changed since its last upload as one store entry, in order. An attempt that finds no local folder
// restores the entries in order before it starts; once the step's output is stored they are discarded. Not the
// store, and not the steps' own resume logic.
//
// Why links: staging must not block the step for long, and the steps replace files by rename (atomic writes),
// never in place, so a linked file keeps the content it had when staged.
import * as fs from 'fs';
import * as path from 'path';
import { artifactKey, type ArtifactRecord, type ArtifactStore } from '@dnd/core';

/** Media type of a work-folder entry. */
export const WORK_MEDIA_TYPE = 'application/vnd.dnd.work+dir';
/** How often a step's work folder is copied to a store that other hosts read, when not configured. */
export const DEFAULT_WORK_SYNC_MS = 30_000;
const INDEX = 'index.json';
const FILES = 'files';
/** Entries of a work folder that are not the step's own state (checkpoint units travel through the store already). */
const SKIP = new Set(['.units']);

/** Key of work-folder entry `seq` of the step output `stepKey`. */
export function workKey(step: string, version: string, stepKey: string, seq: number): string {
  return artifactKey(`${step}/work`, version, { seq }, [stepKey]);
}

/** Relative paths of the files under `root` (sorted; symlinks and other non-files are left out). */
function filesUnder(root: string, skipTop = false): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, e.name) : e.name;
      if (skipTop && !rel && SKIP.has(e.name)) continue;
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out.push(r);
    }
  };
  if (fs.existsSync(root)) walk('');
  return out.sort();
}

/**
 * Links every file of `workDir` (but `.units`) into `staged` (created; must not exist), copying where a link
 * fails. Synchronous: call it where the folder is consistent. A file removed while staging is left out.
 * @example stageWork(ctx.workDir, `${ctx.workDir}.staged-3`)
 */
export function stageWork(workDir: string, staged: string): void {
  fs.mkdirSync(staged, { recursive: true });
  for (const rel of filesUnder(workDir, true)) {
    const [from, to] = [path.join(workDir, rel), path.join(staged, rel)];
    fs.mkdirSync(path.dirname(to), { recursive: true });
    try {
      fs.linkSync(from, to);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      try { fs.copyFileSync(from, to); } catch (e2) { if ((e2 as NodeJS.ErrnoException).code !== 'ENOENT') throw e2; }
    }
  }
}

/** A file's identity: a rename-replaced file gets a new inode, so a changed file never looks unchanged. */
function signature(file: string): string {
  const s = fs.statSync(file);
  return `${s.ino}:${s.size}:${s.mtimeMs}`;
}

/**
 * Uploads staged copies of one step's work folder, one at a time and in order; while one uploads, only the
 * newest staged copy waits (older ones are dropped: the newest holds everything they held). Upload errors
 * are logged and do not stop the step: the next staged copy carries everything that changed.
 */
export class WorkUploader {
  private sent = new Map<string, string>(); // relative path -> signature of what the store holds
  private pending: string | null = null;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly store: ArtifactStore,
    private readonly key: (seq: number) => string,
    private seq: number,
    private readonly log: (m: string) => void,
    private readonly meta: Record<string, unknown> = {},
  ) {}

  /** Number of entries stored so far (the next entry's sequence number). */
  get entries(): number {
    return this.seq;
  }

  /** Takes ownership of `staged` (removed once uploaded or dropped). */
  save(staged: string): void {
    if (this.closed) { fs.rmSync(staged, { recursive: true, force: true }); return; }
    if (this.pending) fs.rmSync(this.pending, { recursive: true, force: true });
    this.pending = staged;
    if (!this.running) this.running = this.drain().finally(() => { this.running = null; });
  }

  private async drain(): Promise<void> {
    while (this.pending && !this.closed) {
      const staged = this.pending;
      this.pending = null;
      try {
        await this.upload(staged);
      } catch (e) {
        this.log(`work folder not copied to the store (entry ${this.seq}): ${(e as Error).message}`);
      } finally {
        fs.rmSync(staged, { recursive: true, force: true });
      }
    }
  }

  private async upload(staged: string): Promise<void> {
    const files = filesUnder(staged);
    const sigs = new Map(files.map((f) => [f, signature(path.join(staged, f))]));
    const changed = files.filter((f) => this.sent.get(f) !== sigs.get(f));
    if (changed.length === 0 && files.length === this.sent.size) return;
    const seq = this.seq;
    await this.store.putDir(this.key(seq), WORK_MEDIA_TYPE, async (dir) => {
      for (const f of changed) {
        const to = path.join(dir, FILES, f);
        fs.mkdirSync(path.dirname(to), { recursive: true });
        try { fs.renameSync(path.join(staged, f), to); } catch { fs.copyFileSync(path.join(staged, f), to); }
      }
      fs.writeFileSync(path.join(dir, INDEX), `${JSON.stringify({ seq, files, changed }, null, 1)}\n`);
      return { seq, files: files.length, changed: changed.length };
    }, { ...this.meta, seq });
    this.sent = sigs;
    this.seq = seq + 1;
  }

  /** Resolves once every copy given so far is uploaded (or its failure logged). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops taking copies, drops the waiting one and waits for the upload in flight (its errors are logged). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pending) fs.rmSync(this.pending, { recursive: true, force: true });
    this.pending = null;
    await this.running;
  }

  /**
   * After close, once the step's output is stored: removes every entry [0, entries), restored ones included (a
   * store without `discard` keeps them). Failures are logged: a leftover copy costs space, not correctness.
   */
  async discardAll(): Promise<void> {
    if (!this.store.discard) return;
    for (let s = 0; s < this.seq; s++) {
      try {
        await this.store.discard(this.key(s));
      } catch (e) {
        this.log(`work folder copy ${s} not removed from the store: ${(e as Error).message}`);
      }
    }
  }
}

/**
 * The stored entries of a step's work folder, in order (0, 1, ... up to the first missing one).
 */
export async function workEntries(store: ArtifactStore, key: (seq: number) => string): Promise<ArtifactRecord[]> {
  const out: ArtifactRecord[] = [];
  for (let rec = await store.get(key(0)); rec; rec = await store.get(key(out.length))) out.push(rec);
  return out;
}

/**
 * Rebuilds `workDir` (which must be missing or empty) from the stored entries: each entry's files in order,
 * then only the files the last entry lists. Returns how many entries were applied.
 * @example const n = await restoreWork(store, await workEntries(store, (s) => workKey('collectSet', '3', key, s)), workDir);
 */
export async function restoreWork(store: ArtifactStore, entries: ArtifactRecord[], workDir: string): Promise<number> {
  if (entries.length === 0) return 0;
  fs.mkdirSync(workDir, { recursive: true });
  let files: string[] = [];
  for (const rec of entries) {
    const dir = await store.resolve(rec.ref);
    const index = JSON.parse(fs.readFileSync(path.join(dir, INDEX), 'utf8')) as { files: string[] };
    if (fs.existsSync(path.join(dir, FILES))) fs.cpSync(path.join(dir, FILES), workDir, { recursive: true, force: true });
    files = index.files;
  }
  const keep = new Set(files);
  for (const f of filesUnder(workDir, true)) if (!keep.has(f)) fs.rmSync(path.join(workDir, f), { force: true });
  return entries.length;
}

/** True when `dir` is missing or holds nothing but `.units`. */
export function workDirEmpty(dir: string): boolean {
  return !fs.existsSync(dir) || fs.readdirSync(dir).every((e) => SKIP.has(e));
}
