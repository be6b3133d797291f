import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((name) => [name, `node:${name}`]);

const perimeterCode = {
  group: ['**/activities/perimeter/**'],
  message: 'Only the perimeter worker uses perimeter code; shared rules live in query-policies/ or lib/.',
};

const ledgerFile = {
  regex: '(^|/)activities/settlement/local-ledger$',
  message:
    'Only settlement writes a ledger: use its port (activities/settlement/ledger-accounts.ts, port.ts), or ledger-entries.ts to read one.',
};

/** A relative import that climbs out of the folder into one of `folders` at the top of the repo. */
const importsOf = (folders, message) => ({
  regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`,
  message,
});

const importRules = (byFiles) =>
  Object.entries(byFiles).map(([files, patterns]) => ({
    files: [files],
    rules: { 'no-restricted-imports': ['error', { patterns }] },
  }));

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
    // The console's browser modules are plain JS (checked by tsc -p api/console/assets): API answers
    // there are untyped JSON, so the any-tracking rules would flag every read of one.
    files: ['api/console/assets/**/*.js'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
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
  // Dependencies point one way (LAYOUT.md). One `no-restricted-imports` per folder: a later flat-config
  // entry would replace an earlier one's patterns, not add to them.
  ...importRules({
    'lib/**/*.ts': [
      perimeterCode,
      ledgerFile,
      importsOf(
        // A capability's shapes (workflows/<capability>/shapes.ts) are pure zod: signed terms read them.
        [
          'workflows(?!/[^/]+/shapes$)',
          'query-policies',
          'activities',
          'api',
          'cli',
          'scripts',
          'sdk',
          'audit',
          'stack',
          'workers',
          'bench',
        ],
        'lib/ depends on nothing above it: what needs workflows, settlement or the API is not a library.',
      ),
    ],
    'sdk/**/*.ts': [
      perimeterCode,
      ledgerFile,
      importsOf(
        ['cli', 'scripts', 'stack'],
        'The SDK is what the CLI and scripts build on, not the other way.',
      ),
    ],
    'audit/**/*.ts': [
      perimeterCode,
      ledgerFile,
      importsOf(
        ['api', 'cli', 'scripts', 'sdk', 'stack'],
        'Audit reads shapes and lib/, never the API or its callers.',
      ),
    ],
    'cli/**/*.ts': [
      perimeterCode,
      ledgerFile,
      importsOf(
        ['scripts'],
        'The CLI and scripts share the stack launcher (stack/); neither imports the other.',
      ),
    ],
    'scripts/**/*.ts': [
      ledgerFile,
      importsOf(['cli'], 'Scripts use the SDK and the stack launcher (stack/), not the CLI.'),
    ],
    'stack/**/*.ts': [
      perimeterCode,
      ledgerFile,
      importsOf(
        ['cli', 'scripts', 'sdk', 'audit', 'api'],
        'The stack launcher starts servers; it knows no caller.',
      ),
    ],
    'api/**/*.ts': [perimeterCode, ledgerFile],
    'query-policies/**/*.ts': [perimeterCode, ledgerFile],
    'bench/**/*.ts': [
      ledgerFile,
      importsOf(['cli'], 'Benchmarks drive the SDK and the stack launcher (stack/), not the CLI.'),
    ],
  }),
  {
    files: ['activities/**/*.ts', 'workers/**/*.ts'],
    ignores: ['activities/settlement/**', 'workers/settlement.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [ledgerFile] }] },
  },
  {
    files: ['tests/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
