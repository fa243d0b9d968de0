// Lint for every project. The module-boundary rule enforces the dependency direction
// core <- lm, encoder <- dataset, decoder, evaluator <- orchestrator; siblings never import each other.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const only = (tag, allowed) => ({ sourceTag: tag, onlyDependOnLibsWithTags: allowed });

export default [
  { ignores: ['**/dist/**', '**/node_modules/**', '**/test/fixtures/**', 'reports/**'] },
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    rules: {
      '@nx/enforce-module-boundaries': ['error', {
        enforceBuildableLibDependency: false,
        allow: [],
        depConstraints: [
          only('pkg:core', []),
          only('pkg:lm', ['pkg:core']),
          only('pkg:encoder', ['pkg:core']),
          only('pkg:dataset', ['pkg:core', 'pkg:lm', 'pkg:encoder']),
          only('pkg:decoder', ['pkg:core', 'pkg:lm', 'pkg:encoder']),
          only('pkg:evaluator', ['pkg:core', 'pkg:lm', 'pkg:encoder']),
          only('pkg:orchestrator', ['pkg:core', 'pkg:lm', 'pkg:encoder', 'pkg:dataset', 'pkg:decoder', 'pkg:evaluator']),
          // tools/ (tests of the workspace, benchmark runners) may use any package's public API.
          only('type:tooling', ['pkg:core', 'pkg:lm', 'pkg:encoder', 'pkg:dataset', 'pkg:decoder', 'pkg:evaluator', 'pkg:orchestrator']),
        ],
      }],
      'no-restricted-imports': ['error', { patterns: [{ group: ['@dnd/*/*'], message: 'No deep imports: use the package entry point (src/index.ts).' }] }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
];
