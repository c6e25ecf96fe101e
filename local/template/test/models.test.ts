// The template's models are found by the aims:model / aims:role metadata the stacks write: two endpoints of two models
// give two served models with their own drift check and state machine; the real dev assembly tags the fraud model.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DEV_ASSEMBLY, makeTemplate } from '../../lambda/test/fixtures.js';
import { ROOT, servedModelsInOrder } from '../../stage.js';
import type { LocalResource } from '../../types.js';
import { loadLocalTemplate, modelTag, servedModels, templateModel, templateModels } from '../index.js';

function resource(logicalId: string, type: string, metadata: Record<string, unknown>): LocalResource {
  const ref = `arn:aws:test:${logicalId}`;
  return { stackName: 'Dev-Models', logicalId, type, properties: {}, metadata, ref, attributes: { Arn: ref } };
}
const tagged = (logicalId: string, type: string, model: string, role: string) =>
  resource(logicalId, type, { 'aws:cdk:path': `Dev/${logicalId}`, 'aims:model': model, 'aims:role': role });

// Two models, declared in an order where neither "the first endpoint" nor "the first function" is the scored one.
const twoModels = [
  tagged('RiskEndpoint', 'AWS::SageMaker::Endpoint', 'merchant-risk', 'endpoint'),
  tagged('FraudEndpoint', 'AWS::SageMaker::Endpoint', 'fraud-detector', 'endpoint'),
  tagged('RiskDrift', 'AWS::Lambda::Function', 'merchant-risk', 'drift-check'),
  tagged('FraudDrift', 'AWS::Lambda::Function', 'fraud-detector', 'drift-check'),
  tagged('RiskMachine', 'AWS::StepFunctions::StateMachine', 'merchant-risk', 'retraining'),
  tagged('FraudMachine', 'AWS::StepFunctions::StateMachine', 'fraud-detector', 'retraining'),
  tagged('Score', 'AWS::Lambda::Function', 'fraud-detector', 'score'),
  resource('Untagged', 'AWS::Lambda::Function', { 'aws:cdk:path': 'Dev/Untagged' }),
];

describe('the models of a template, by metadata', () => {
  it('GIVEN two endpoints of two models THEN each is a served model with its own folder, drift check and machine', () => {
    const template = makeTemplate(twoModels, '/nowhere');
    const served = servedModels(template, '/repo');
    expect(served.map((m) => [m.name, m.dir, m.endpoint?.logicalId])).toEqual([
      ['merchant-risk', join('/repo', 'models', 'merchant-risk'), 'RiskEndpoint'],
      ['fraud-detector', join('/repo', 'models', 'fraud-detector'), 'FraudEndpoint'],
    ]);
    expect(served.map((m) => m.one('drift-check')?.logicalId)).toEqual(['RiskDrift', 'FraudDrift']);
    expect(served.map((m) => m.one('retraining')?.logicalId)).toEqual(['RiskMachine', 'FraudMachine']);
    expect(templateModel(template, '/repo', 'merchant-risk').one('score')).toBeUndefined();
  });

  it('GIVEN several served models THEN the stage serves every one, the scored one first (stage.model)', () => {
    const served = servedModelsInOrder(makeTemplate(twoModels, '/nowhere'), ROOT);
    expect(served.map((m) => [m.name, m.dir, m.endpoint?.logicalId])).toEqual([
      ['fraud-detector', join(ROOT, 'models', 'fraud-detector'), 'FraudEndpoint'],
      ['merchant-risk', join(ROOT, 'models', 'merchant-risk'), 'RiskEndpoint'],
    ]);
  });

  it('GIVEN several served models and no score function THEN every one is served in the template order', () => {
    const noScore = twoModels.filter((r) => r.logicalId !== 'Score');
    expect(servedModelsInOrder(makeTemplate(noScore, '/nowhere'), ROOT).map((m) => m.name)).toEqual([
      'merchant-risk',
      'fraud-detector',
    ]);
  });

  it('GIVEN a model with two resources of one role THEN asking for the one fails, naming both', () => {
    const doubled = [...twoModels, tagged('FraudDrift2', 'AWS::Lambda::Function', 'fraud-detector', 'drift-check')];
    const fraud = templateModel(makeTemplate(doubled, '/nowhere'), '/repo', 'fraud-detector');
    expect(() => fraud.one('drift-check')).toThrow(/2 resources tagged drift-check \(FraudDrift, FraudDrift2\)/);
  });

  it('GIVEN a malformed tag or an unknown model THEN the error names the resource or the models there are', () => {
    expect(() =>
      modelTag(resource('Bad', 'AWS::Lambda::Function', { 'aims:model': 'x', 'aims:role': 'scorer' })),
    ).toThrow(/Dev-Models\/Bad: aims:model must be a model name and aims:role one of endpoint, .*got "x" \/ "scorer"/);
    expect(() => templateModel(makeTemplate(twoModels, '/nowhere'), '/repo', 'churn')).toThrow(
      /no resources tagged aims:model=churn \(it has: merchant-risk, fraud-detector\)/,
    );
    expect(() => servedModelsInOrder(makeTemplate([], '/nowhere'), ROOT)).toThrow(
      /no resource tagged as a model endpoint/,
    );
  });

  const synthesized = existsSync(join(DEV_ASSEMBLY, 'manifest.json'));
  (synthesized ? it : it.skip)('GIVEN the synthesized dev stage THEN each served model has its parts tagged', () => {
    const template = loadLocalTemplate({ assemblyDir: join(DEV_ASSEMBLY, '..'), stageName: 'Dev' });
    const models = templateModels(template, ROOT);
    expect(models.length).toBeGreaterThan(0);
    for (const model of servedModels(template, ROOT)) {
      expect(model.endpoint?.type).toBe('AWS::SageMaker::Endpoint');
      expect(model.one('endpoint-config')?.type).toBe('AWS::SageMaker::EndpointConfig');
      expect(model.one('model')?.type).toBe('AWS::SageMaker::Model');
      expect(model.one('drift-check')?.type).toBe('AWS::Lambda::Function');
      expect(model.one('retraining')?.type).toBe('AWS::StepFunctions::StateMachine');
      expect(model.one('evaluate')?.type).toBe('AWS::Lambda::Function');
      expect(model.one('prepare-dataset')?.type).toBe('AWS::Lambda::Function');
      expect(existsSync(join(model.dir, 'model.json'))).toBe(true);
    }
    // The score and features services are tagged with the model the environment assigns them.
    const scorer = models.filter((m) => m.one('score'));
    expect(scorer).toHaveLength(1);
    expect(scorer[0]?.one('features')?.type).toBe('AWS::Lambda::Function');
  });
});
