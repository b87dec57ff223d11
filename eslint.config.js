// @ts-check
import tseslint from 'typescript-eslint';

/** Folders that hold the pure core: no SDK, no FDK, no Node I/O, no clock, no environment. */
export const pureGlobs = [
  'workflows/**/*.ts',
  'shared/dataset/rules.ts',
  'shared/dataset/{sketch,lines,report,validate,convert,tokens,dedup}.ts',
  'shared/scaling/**/*.ts',
  'shared/notify-body.ts',
  'local/emulator/monitoring-mql.ts',
  'shared/doctor/{types,json-diff,storage,events,notifications,alarms,workflows,run}.ts',
  'shared/pipeline/datascience-launch.ts',
];

const ioModules = [
  'fs',
  'fs/promises',
  'net',
  'http',
  'https',
  'http2',
  'child_process',
  'dgram',
  'dns',
  'tls',
  'os',
  'worker_threads',
  'readline',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    files: pureGlobs,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['oci-*', '@fnproject/*'],
              message: 'The pure core must not import the OCI SDK or the FDK.',
            },
            {
              group: ioModules.flatMap((m) => [m, `node:${m}`]),
              message: 'The pure core must not do I/O: take data in, return data out.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'Pass the time in as an argument.' },
        { object: 'Math', property: 'random', message: 'Pass randomness in as an argument.' },
        { object: 'process', property: 'env', message: 'Configuration is parsed at the edge.' },
      ],
    },
  },
);
