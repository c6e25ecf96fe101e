// One snapshot per environment: a refactoring guard over every stack's template, with content hashes scrubbed.
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { cleanTestApps, testApp } from './support/app.js';

const { stages } = testApp();

/** A Lambda version's logical id ends in an md5 of the function's configuration and code (asset hash): scrubbed in
 *  keys and references alike, as the serializer scrubs the 64-hex asset hashes in values. */
const VERSION_HASH = /(CurrentVersion[0-9A-F]{8})[0-9a-f]{32}/g;
function scrubVersionIds(template: unknown): unknown {
  return JSON.parse(JSON.stringify(template).replace(VERSION_HASH, '$1[VERSION HASH REMOVED]'));
}
afterAll(cleanTestApps);

describe.each(STAGE_NAMES)('GIVEN the %s stage', (name) => {
  test('THEN its templates match the reviewed snapshot', () => {
    const stacks = stages[name].node.children.filter((c): c is Stack => Stack.isStack(c));
    const templates = Object.fromEntries(
      stacks.map((stack) => [stack.node.id, scrubVersionIds(Template.fromStack(stack).toJSON())]),
    );
    expect(Object.keys(templates).length).toBeGreaterThan(0);
    expect(templates).toMatchSnapshot();
  });
});
