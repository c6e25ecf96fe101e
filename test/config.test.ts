// The environment table: its resolved values are reviewed as a snapshot, and overrides are validated.
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { environments, resolveEnvironment } from '../lib/config/environments.js';

describe('GIVEN the environment table', () => {
  test('THEN the resolved configuration of every environment matches the reviewed snapshot', () => {
    const resolved = Object.fromEntries(STAGE_NAMES.map((name) => [name, resolveEnvironment(name, {})]));
    expect(resolved).toMatchSnapshot();
  });

  test('THEN only dev may destroy data, and retention grows from dev to prod', () => {
    expect(environments.Dev.removalPolicy).toBe('destroy');
    expect(environments.Staging.removalPolicy).toBe('retain');
    expect(environments.Prod.removalPolicy).toBe('retain');
    expect(environments.Dev.logRetention).toBeLessThan(environments.Staging.logRetention);
    expect(environments.Staging.logRetention).toBeLessThan(environments.Prod.logRetention);
  });
});

describe('GIVEN account and region overrides for a real deploy', () => {
  test('WHEN AIMS_PROD_ACCOUNT and AIMS_PROD_REGION are set THEN prod uses them and the others keep theirs', () => {
    const env = { AIMS_PROD_ACCOUNT: '444455556666', AIMS_PROD_REGION: 'us-east-2' };
    expect(resolveEnvironment('Prod', env)).toMatchObject({ account: '444455556666', region: 'us-east-2' });
    expect(resolveEnvironment('Dev', env)).toMatchObject({ account: environments.Dev.account });
  });

  test('WHEN the account is not 12 digits THEN the error names the variable and the value', () => {
    expect(() => resolveEnvironment('Dev', { AIMS_DEV_ACCOUNT: '12345' })).toThrow(
      "AIMS_DEV_ACCOUNT must be a 12-digit AWS account id, got '12345'",
    );
  });

  test('WHEN the region is malformed THEN the error names the variable and the value', () => {
    expect(() => resolveEnvironment('Staging', { AIMS_STAGING_REGION: 'Ireland' })).toThrow(
      "AIMS_STAGING_REGION must be an AWS region such as eu-west-1, got 'Ireland'",
    );
  });
});
