// Config-as-data helpers shared by every XConfig: merge a preset onto defaults, and field checks that
// throw naming the field and the value (BadInputError: a config value never gets better by retrying).
// Not a schema library.
import { BadInputError } from './bad-input';

/** Deep-merges plain-object `override` onto `base`; arrays and scalars replace. Unknown keys throw. */
export function mergeConfig<T extends object>(base: T, override: Partial<T> | Record<string, unknown> | undefined, where = 'config'): T {
  if (!override) return structuredClone(base);
  const out: any = structuredClone(base);
  for (const [k, v] of Object.entries(override)) {
    if (!Object.hasOwn(out, k)) throw new BadInputError(`${where}: unknown field "${k}" (known: ${Object.keys(out).join(', ')})`);
    const cur = out[k];
    if (cur && typeof cur === 'object' && !Array.isArray(cur) && v && typeof v === 'object' && !Array.isArray(v)) {
      out[k] = mergeConfig(cur, v as any, `${where}.${k}`);
    } else {
      out[k] = v;
    }
  }
  return out as T;
}

/** Throws unless `value` is a finite number within [min, max] (and an integer when asked). */
export function checkNumber(where: string, field: string, value: unknown, opts: { min?: number; max?: number; integer?: boolean } = {}): void {
  const bad = typeof value !== 'number' || !Number.isFinite(value)
    || (opts.integer && !Number.isInteger(value))
    || (opts.min !== undefined && value < opts.min)
    || (opts.max !== undefined && value > opts.max);
  if (bad) {
    const range = `${opts.integer ? 'an integer' : 'a number'}${opts.min !== undefined ? ` >= ${opts.min}` : ''}${opts.max !== undefined ? ` <= ${opts.max}` : ''}`;
    throw new BadInputError(`${where}.${field} must be ${range}, got ${JSON.stringify(value)}`);
  }
}

/** Throws unless `value` is one of `allowed`. */
export function checkOneOf<T>(where: string, field: string, value: unknown, allowed: readonly T[]): void {
  if (!allowed.includes(value as T)) {
    throw new BadInputError(`${where}.${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(value)}`);
  }
}

/** Canonical JSON (sorted keys) for hashing configs. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).filter((k) => (value as any)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as any)[k])}`).join(',')}}`;
}
