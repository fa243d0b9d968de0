// Runs a TypeScript file directly, as jest does: swc transpiles, and @dnd/<pkg> resolves to
// packages/<pkg>/src/index.ts (no prior build). For benchmark and maintenance scripts, not for production.
// Usage: node tools/bench/run-ts.cjs path/to/script.ts [args...]
const fs = require('fs');
const path = require('path');
const Module = require('module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..', '..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@dnd\/([a-z-]+)$/.exec(request);
  return resolve.call(this, m ? path.join(root, 'packages', m[1], 'src', 'index.ts') : request, parent, ...rest);
};
require.extensions['.ts'] = function (module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, sourceMaps: 'inline', jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
const [script, ...args] = process.argv.slice(2);
if (!script) { console.error('usage: node tools/bench/run-ts.cjs script.ts [args...]'); process.exit(2); }
process.argv = [process.argv[0], path.resolve(script), ...args];
require(path.resolve(script));
