import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      '.tusk/**',
      'bin/**',
      '*.config.m{js,ts}',
      'scripts/**/*.mjs',
      // Loaded by path with require (see lib/codec/history-codec.ts), outside the TypeScript project.
      'lib/codec/*.cjs',
      // Checked against the @aztec declarations by npm run typecheck:aztec, outside this project.
      'contracts/sdk.conformance.ts',
    ],
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Fastify plugins and hooks are async by contract, whether or not they await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Workflow code is replayed: no Node built-ins, no I/O, nothing non-deterministic.
    files: ['workflows/**/*.ts'],
    rules: {
      // The typescript-eslint variant, so that activity *types* may be imported (as the Temporal
      // samples do) while activity code may not.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({
            name,
            message: 'Workflow code must not use Node built-ins.',
          })),
          patterns: [
            {
              regex: '(^|/)activities/[^/]+/(?!types$)',
              allowTypeImports: true,
              message: 'Workflow code must not do I/O: import activity types only.',
            },
            {
              group: ['ioredis', 'bullmq', '@duckdb/*', 'fastify'],
              message: 'Workflow code must not do I/O.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'setTimeout', 'setInterval', 'fetch', 'process'],
      'no-restricted-syntax': [
        'error',
        {
          // The API answers a refusal by its type (api/refusal-codes.ts); a plain Error has none.
          selector: "ThrowStatement > NewExpression[callee.name='Error']",
          message:
            'Refuse with refusal(type, reason) from workflows/refusals.ts, so the API knows the answer.',
        },
        {
          selector: "Property[key.name='taskQueue'] > :matches(Literal, TemplateLiteral)",
          message:
            'Name task queues in lib/task-queues.ts; proxy activities with workflows/activity-proxies.ts.',
        },
      ],
    },
  },
  {
    // Dependencies point one way: the operator's side, the shared library and the template rules
    // never reach into the seller's perimeter code.
    files: [
      'api/**/*.ts',
      'lib/**/*.ts',
      'sdk/**/*.ts',
      'audit/**/*.ts',
      'query-policies/**/*.ts',
      'cli/**/*.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/activities/perimeter/**'],
              message:
                'Only the perimeter worker uses perimeter code; shared rules live in query-policies/ or lib/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
