// Jest runs the TypeScript tests as native ES modules (middy 7 and cockatiel 4 ship ESM only).
import { existsSync } from 'node:fs';

const roots = ['test', 'lambdas', 'models', 'lib', 'local', 'bench'].filter((dir) => existsSync(dir));
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  roots: roots.map((dir) => `<rootDir>/${dir}`),
  testMatch: ['**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // Handlers import their model as MODEL_MODULE_SPECIFIER, which each bundle aliases at synth; the handler tests run
    // them against the fraud detector (tests of the cores inject the module they need instead).
    '^@aims/model-module$': '<rootDir>/models/fraud-detector/src/module.ts',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  snapshotSerializers: ['<rootDir>/test/support/scrub-hashes.cjs'],
  setupFilesAfterEnv: ['<rootDir>/test/support/fast-check-seed.ts'],
  testTimeout: 60_000,
  // Two workers (Jest's default is cores − 1, one on the 2-core CI machine): most suites wait on the processes of a
  // local stage or model server, so one worker leaves the cores idle half the time. Measured on this machine: the
  // whole suite in 10.5 min with two, 19 min with one. Tests that need quiet (latency figures) live in `npm run bench`.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  modulePathIgnorePatterns: ['<rootDir>/cdk.out', '<rootDir>/.aims', '<rootDir>/node_modules/.cache'],
};
