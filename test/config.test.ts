// The environment table: its resolved values are reviewed as a snapshot, overrides are validated, and its models are
// the model folders'.
import * as path from 'node:path';
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { environments, resolveEnvironment } from '../lib/config/environments.js';
import { discoverModels, routeModel, servedModels } from '../lib/config/models.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';

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

describe('GIVEN the models table of each environment and the model folders', () => {
  const declarations = discoverModels(path.join(PROJECT_ROOT, 'models'));
  const fraud = declarations.find((d) => d.manifest.name === 'fraud-detector');
  if (!fraud) throw new Error('models/fraud-detector is the model these tests serve');
  const serving = environments.Dev.models['fraud-detector'];

  test.each(STAGE_NAMES)(
    'THEN %s serves the models its table names and binds POST /v1/score to exactly one',
    (name) => {
      const served = servedModels(declarations, environments[name].models, name);
      expect(served.map((m) => m.manifest.name)).toEqual(Object.keys(environments[name].models).sort());
      expect(routeModel(served, 'score', name).manifest.name).toBe('fraud-detector');
    },
  );

  test('WHEN the table names a model no folder declares THEN synth is refused, naming both sides', () => {
    expect(() => servedModels([fraud], { 'fraud-detector': serving, 'fraud-detectr': serving }, 'Dev')).toThrow(
      "Dev: models 'fraud-detectr' in the environments table have no models/<name>/model.json (found: fraud-detector)",
    );
  });

  test('WHEN a model folder has no entry in the table THEN that environment does not serve it', () => {
    const twin = { ...fraud, manifest: { ...fraud.manifest, name: 'twin' } };
    expect(servedModels([fraud, twin], { 'fraud-detector': serving }, 'Staging').map((m) => m.manifest.name)).toEqual([
      'fraud-detector',
    ]);
  });

  test('WHEN two models claim one route, or none claims it THEN synth is refused', () => {
    const twin = { ...fraud, manifest: { ...fraud.manifest, name: 'twin' } };
    expect(() => servedModels([fraud, twin], { 'fraud-detector': serving, twin: serving }, 'Prod')).toThrow(
      "Prod: route 'score' is bound to fraud-detector and twin",
    );
    const { route: _, ...unrouted } = serving;
    const served = servedModels([fraud], { 'fraud-detector': unrouted }, 'Prod');
    expect(() => routeModel(served, 'score', 'Prod')).toThrow(
      "Prod: no model has route 'score' in the environments table (models: fraud-detector)",
    );
  });
});
