// A require hook for child processes of the tests: compiles .ts with @swc/core (as jest does) and maps
// @dnd/<pkg> to packages/<pkg>/src/index.ts (as jest's moduleNameMapper does). Test support only.
// Usage: node -r ./test/support/register.cjs test/support/worker-child.ts
const fs = require('fs');
const path = require('path');
const Module = require('module');
const swc = require('@swc/core');

const root = path.resolve(__dirname, '..', '..', '..', '..');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  const m = /^@dnd\/([a-z-]+)$/.exec(request);
  if (m) return path.join(root, 'packages', m[1], 'src', 'index.ts');
  try {
    return resolve.call(this, request, parent, ...rest);
  } catch (e) {
    // Relative imports without an extension that name a .ts file (or a folder's index.ts).
    if (parent && request.startsWith('.')) {
      const base = path.resolve(path.dirname(parent.filename), request);
      for (const f of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(f)) return f;
    }
    throw e;
  }
};
require.extensions['.ts'] = function (module, filename) {
  const { code } = swc.transformSync(fs.readFileSync(filename, 'utf8'), {
    filename, sourceMaps: 'inline',
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
