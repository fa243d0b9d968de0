// Where a forked child's entry point is: the compiled `<name>.js` beside its caller, or, when the orchestrator
// runs from its TypeScript sources (the tests), `<name>.ts` with the tests' swc hook preloaded. Used by the step
// processes (activities/step-process.ts) and `dnd serve`'s generator process (commands/generator-process.ts).
import * as path from 'path';

/** True when this code runs from the .ts sources. */
export const FROM_SOURCES = __filename.endsWith('.ts');

/**
 * The file and node flags that fork `name` (no extension) from folder `dir` (the caller's __dirname).
 * @example const { file, execArgv } = childEntry(__dirname, 'step-child'); fork(file, [], { execArgv });
 */
export function childEntry(dir: string, name: string): { file: string; execArgv: string[] } {
  if (!FROM_SOURCES) return { file: path.join(dir, `${name}.js`), execArgv: [] };
  return { file: path.join(dir, `${name}.ts`), execArgv: ['-r', path.resolve(__dirname, '..', 'test', 'support', 'register.cjs')] };
}
