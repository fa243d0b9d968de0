// Moves a directory's entries into another: a rename on one file system, a copy across file systems. Used by
// the step processes (a checkpoint unit into the store) and the real steps (a resumable work folder into
// the step's output). Not an atomic publish: the store's putDir does that.
import * as fs from 'fs';
import * as path from 'path';

/**
 * Moves every entry of `from` into `to` (created when missing).
 * @example moveContents(path.join(workDir, 'set'), outDir)
 */
export function moveContents(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(from)) {
    const [a, b] = [path.join(from, f), path.join(to, f)];
    try {
      fs.renameSync(a, b);
    } catch {
      fs.cpSync(a, b, { recursive: true });
    }
  }
}
