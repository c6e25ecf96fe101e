// The occlusion baseline the score function ships as a literal must be what the feature module computes.
import { FEATURE_NAMES } from '../src/features.js';
import { REFERENCE_BASELINE, referenceBaseline } from '../src/reference.js';

describe('GIVEN the reference baseline', () => {
  test('WHEN computed with the current feature module THEN it equals the literal the handler uses, feature by feature', () => {
    const computed = referenceBaseline();
    expect(Object.keys(REFERENCE_BASELINE).sort()).toEqual([...FEATURE_NAMES].sort());
    for (const name of FEATURE_NAMES) expect([name, REFERENCE_BASELINE[name]]).toEqual([name, computed[name]]);
  });
});
