// Shared jest settings: swc transpiles TypeScript (type checks run in the `typecheck` target),
// and @dnd/* resolve to each package's src so tests never need a prior build.
const path = require('path');
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  moduleNameMapper: { '^@dnd/([a-z-]+)$': path.join(__dirname, 'packages/$1/src/index.ts') },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  testTimeout: 120000,
};
