// The Model Monitor record preprocessor reads the feature names back from the numbered variables the construct writes.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  FEATURE_NAMES_PREFIX,
  featureNamesEnvironment,
  MONITOR_ENVIRONMENT_LIMITS,
} from '../../../lib/constructs/model-monitor.js';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const SCRIPT = path.join(ROOT, 'lambdas/drift/monitor/record_preprocessor.py');
const manifest = JSON.parse(readFileSync(path.join(ROOT, 'models/fraud-detector/model.json'), 'utf8')) as {
  features: string[];
};

/** Runs preprocess_handler on one captured v2 record (row 0 scored, as the scorer sends it) under `env`. */
function preprocess(env: Record<string, string>, width: number): { row?: Record<string, number>; error?: string } {
  const driver = `
import importlib.util, json, sys, types
spec = importlib.util.spec_from_file_location('pre', sys.argv[1])
try:
    pre = importlib.util.module_from_spec(spec); spec.loader.exec_module(pre)
    width = int(sys.argv[2])
    body = {'inputs': [{'name': 'features', 'shape': [1, width], 'data': list(range(width))}]}
    record = types.SimpleNamespace(
        endpoint_input=types.SimpleNamespace(data=json.dumps(body)),
        endpoint_output=types.SimpleNamespace(data=json.dumps({'outputs': [{'data': [0.25]}]})))
    print(json.dumps({'row': pre.preprocess_handler(record)[0]}))
except ValueError as e:
    print(json.dumps({'error': str(e)}))
`;
  const run = spawnSync('python3', ['-c', driver, SCRIPT, String(width)], {
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as { row?: Record<string, number>; error?: string };
}

describe('GIVEN the feature names of a model', () => {
  test.each([
    ['the fraud detector', manifest.features],
    ['300 long names', Array.from({ length: 300 }, (_, i) => `feature_with_a_rather_long_name_${i}`)],
  ])(
    'WHEN %s are split into the job environment THEN every value fits and the preprocessor reads them back in order',
    (_, features) => {
      const env = featureNamesEnvironment(features);
      for (const value of Object.values(env))
        expect(value.length).toBeLessThanOrEqual(MONITOR_ENVIRONMENT_LIMITS.valueLength);
      expect(Object.keys(env).length).toBeLessThanOrEqual(MONITOR_ENVIRONMENT_LIMITS.entries);
      const { row, error } = preprocess(env, features.length);
      expect(error).toBeUndefined();
      expect(Object.keys(row ?? {})).toEqual([...features, 'score']);
      expect(row?.[features[features.length - 1] as string]).toBe(features.length - 1);
    },
  );

  test('WHEN a numbered variable is missing THEN the preprocessor refuses instead of dropping names', () => {
    const env = featureNamesEnvironment(manifest.features.map((f) => `${f}_${'x'.repeat(60)}`));
    expect(Object.keys(env).length).toBeGreaterThan(2);
    delete env[`${FEATURE_NAMES_PREFIX}1`];
    expect(preprocess(env, manifest.features.length).error).toMatch(/without gaps/);
  });

  test('WHEN a name cannot fit THEN the construct says so at synthesis', () => {
    expect(() => featureNamesEnvironment(['a'.repeat(257)])).toThrow(/at most 256/);
    expect(() => featureNamesEnvironment(['a,b'])).toThrow(/without commas/);
    expect(() => featureNamesEnvironment(Array.from({ length: 51 }, (_, i) => `${'f'.repeat(200)}${i}`))).toThrow(
      /at most 50/,
    );
  });
});
