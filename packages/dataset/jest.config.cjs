// hyparquet, hyparquet-compressors (+ hysnappy, fzstd) and hyparquet-writer ship ESM only: let swc turn them into CommonJS for jest.
const preset = require('../../jest.preset.cjs');
module.exports = {
  ...preset,
  displayName: 'dataset',
  rootDir: __dirname,
  transform: {
    ...preset.transform,
    '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['^(?!.*(hyparquet|hysnappy|fzstd)).*/node_modules/'],
};
