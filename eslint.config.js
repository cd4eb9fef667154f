// @ts-check
const tseslint = require('typescript-eslint');

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-require-imports': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: 'error',
      'prefer-const': 'error',
    },
  },
  {
    // the plugin runs on Node 12.18.1 (the official kuzzleio/kuzzle:2.10.4 image): no global added since
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-globals': ['error',
        ...['performance', 'structuredClone', 'AbortController', 'AbortSignal', 'EventTarget', 'Event', 'fetch', 'Blob', 'atob', 'btoa']
          .map(name => ({ message: 'not a global on Node 12.18.1, which the plugin supports (performance: import it from perf_hooks)', name }))],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      // should.js assertions are property accesses (`x.should.be.true()`)
      '@typescript-eslint/no-unused-expressions': 'off',
      'no-console': 'off',
    },
  },
);
