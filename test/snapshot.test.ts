// One snapshot per environment: a refactoring guard over every stack's template, with content hashes scrubbed.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { cleanTestApps, testApp } from './support/app.js';

const { stages } = testApp();
afterAll(cleanTestApps);

describe.each(STAGE_NAMES)('GIVEN the %s stage', (name) => {
  test('THEN its templates match the reviewed snapshot', () => {
    const stacks = stages[name].node.children.filter((c): c is Stack => Stack.isStack(c));
    const templates = Object.fromEntries(stacks.map((stack) => [stack.node.id, Template.fromStack(stack).toJSON()]));
    expect(Object.keys(templates).length).toBeGreaterThan(0);
    expect(templates).toMatchSnapshot();
  });
});
