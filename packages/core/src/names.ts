// The one rule for names that become paths (set names, run ids, aliases, artifact keys, adapter names)
// and the containment check for paths built from them. Not a path library: callers still join paths,
// but every name goes through validateName and every joined path through resolveInside.
import * as path from 'path';
import { BadInputError } from './bad-input';

/**
 * A name that may become a file or folder name: starts with a letter or digit, then up to 127 letters,
 * digits, '.', '_' or '-'; never `..` anywhere. No separators, so it can never leave its parent folder.
 */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** What a name names, for the error message (e.g. "set", "run id", "alias"). */
export type NameKind = 'set' | 'held-out set' | 'run id' | 'alias' | 'artifact key' | 'adapter name' | string;

/** True when `value` follows NAME_PATTERN and holds no `..`. */
export function isValidName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value) && !value.includes('..');
}

/**
 * Returns `value` when it is a valid name, else throws BadInputError naming the kind and the value.
 * @example validateName('run id', 'exp-3') // 'exp-3'
 * @example validateName('set', '../../etc') // throws: set "../../etc" is not a valid name ...
 */
export function validateName(kind: NameKind, value: unknown): string {
  if (isValidName(value)) return value;
  throw new BadInputError(`${kind} ${JSON.stringify(value)} is not a valid name: it must start with a letter or digit and use only letters, digits, '.', '_' or '-' (at most 128 characters, no "..")`);
}

/**
 * Resolves `parts` against `root` and returns the absolute path, refusing (BadInputError) any result
 * that is not `root` itself or below it: `..` segments, absolute parts and the like cannot escape.
 * Symbolic links are not followed (the check is on the path as written).
 * @example resolveInside('/runs', 'exp-3', 'config.json') // '/runs/exp-3/config.json'
 * @example resolveInside('/runs', '../etc') // throws
 */
export function resolveInside(root: string, ...parts: string[]): string {
  const base = path.resolve(root);
  const full = path.resolve(base, ...parts);
  const rel = path.relative(base, full);
  if (rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel))) return full;
  throw new BadInputError(`path ${JSON.stringify(path.join(...parts))} escapes ${base}`);
}
