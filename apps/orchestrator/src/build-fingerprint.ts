// Which build of the code a process runs: a digest of the compiled JavaScript of the orchestrator and of every
// @dnd/* package it resolves. A worker names its cache keys by the step versions it loaded at start, while each
// step runs in a fresh child that loads whatever is on disk then; a rebuild in between (any `./dnd` command
// rebuilds changed sources) would compute a step with code its key does not name. The child compares its build
// with its worker's and refuses (step-child.ts). Not a version number and not the bootstrap's stamp.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { FROM_SOURCES } from './child-entry';

const PACKAGES = ['@dnd/core', '@dnd/lm', '@dnd/encoder', '@dnd/dataset', '@dnd/decoder', '@dnd/evaluator'];

/**
 * sha256 (hex) over the `.js` files under `dirs`, by path relative to each dir and content; the same code gives the
 * same digest whatever the file times (a rebuild that changes nothing changes nothing here).
 * @example fingerprintDirs(['apps/orchestrator/dist'])
 */
export function fingerprintDirs(dirs: readonly string[]): string {
  const h = crypto.createHash('sha256');
  const walk = (root: string, dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(root, p);
      else if (e.isFile() && e.name.endsWith('.js')) h.update(`\0${path.relative(root, p)}\0`).update(fs.readFileSync(p));
    }
  };
  for (const d of dirs) {
    h.update(`\u0001${dirs.indexOf(d)}`);
    if (fs.existsSync(d)) walk(d, d);
  }
  return h.digest('hex');
}

/**
 * This process's build on disk now: the orchestrator's compiled folder and each @dnd/* package's, as Node
 * resolves them from here. null when running from the TypeScript sources (the tests), which have no build.
 */
export function buildFingerprint(): string | null {
  if (FROM_SOURCES) return null;
  const dirs = [__dirname];
  for (const name of PACKAGES) {
    try { dirs.push(path.dirname(require.resolve(name))); } catch { dirs.push(`unresolved:${name}`); }
  }
  return fingerprintDirs(dirs);
}

/** The build this process loaded: taken when this module is first loaded (with the worker's other code). */
export const LOADED_BUILD = buildFingerprint();
