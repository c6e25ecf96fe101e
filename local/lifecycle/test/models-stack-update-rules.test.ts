// The local models stack applies CloudFormation's update rules: a new champion replaces the data-quality job
// definition (its baseline is create-only), which CloudFormation refuses when the definition has a custom name. The
// Dev stage is synthesized twice, once as it is and once with a test-only aspect that pins the name back, and each
// local stack is updated with the same new champion pointer over real model servers and real local S3.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Aspects, type IAspect } from 'aws-cdk-lib';
import { CfnDataQualityJobDefinition } from 'aws-cdk-lib/aws-sagemaker';
import type { IConstruct } from 'constructs';
import { PsiBins } from '../../../lambdas/drift/core.js';
import { writeTarGz } from '../../../lambdas/retraining/tar.js';
import { modelEndpointName } from '../../../lib/config/models.js';
import { modelVersionsPrefix, VERSION_LAYOUT } from '../../../lib/constructs/model-registry.js';
import { PROJECT_ROOT } from '../../../lib/constructs/service-function.js';
import { cleanTestApps, testApp } from '../../../test/support/app.js';
import { startBackendServers } from '../../backends/servers.js';
import { refusalReason } from '../../cloudformation/update-rules.js';
import { loadLocalTemplate } from '../../template/index.js';
import type { LocalTemplate } from '../../types.js';
import { LocalModelEndpoints } from '../model-endpoints.js';
import { LocalS3 } from '../s3.js';
import { LocalParameterStore } from '../ssm.js';

const FIXTURE_SCRIPT = join(PROJECT_ROOT, 'models', 'server', 'test', 'fixtures', 'make_fixture_model.py');
const MODEL = 'fraud-detector';
/** The fixed name the job definition had before CloudFormation named it (issue #10, finding 2). */
const CUSTOM_NAME = `${modelEndpointName('Dev', MODEL)}-data-quality`;

/** Test-only: gives every data-quality job definition a fixed physical name, as the construct once did. */
class FixedJobDefinitionName implements IAspect {
  visit(node: IConstruct): void {
    if (node instanceof CfnDataQualityJobDefinition) node.jobDefinitionName = CUSTOM_NAME;
  }
}

/** The Dev stage's assembly, synthesized into a throwaway folder (with the aspect when `customName`). */
function synthesizeDev(customName: boolean): LocalTemplate {
  const { app, stages } = testApp();
  if (customName) Aspects.of(stages.Dev.models).add(new FixedJobDefinitionName());
  const assembly = app.synth().getNestedAssembly('assembly-Dev');
  return loadLocalTemplate({ assemblyDir: assembly.directory, stageName: 'Dev' });
}

function fixtureModel(dir: string, version: string, bias: number): string {
  mkdirSync(dir, { recursive: true });
  execFileSync('/usr/bin/python3', [FIXTURE_SCRIPT, dir, '--version', version, '--bias', String(bias)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  return dir;
}

/** One local models stack of `template` on its own backends, with a registered version `v2` to promote. */
async function localModels(template: LocalTemplate, dir: string) {
  const backends = await startBackendServers({
    dataDir: join(dir, 'backends'),
    buckets: template.ofType('AWS::S3::Bucket').map((b) => b.ref),
  });
  const s3 = new LocalS3(backends.endpoints.s3, template.region);
  const bootstrap = fixtureModel(join(dir, 'bootstrap'), 'bootstrap-1', 0.25);
  const v2 = fixtureModel(join(dir, 'v2'), 'v2', 0.5);
  const artifacts = template.ofType('AWS::S3::Bucket').find((b) => b.logicalId.startsWith('ArtifactsBucket'))?.ref;
  if (!artifacts) throw new Error('the Dev template has no artifacts bucket');
  const prefix = `s3://${artifacts}/${modelVersionsPrefix(MODEL)}/v2/`;
  await s3.put(
    `${prefix}${VERSION_LAYOUT.modelData}`,
    writeTarGz([{ path: `${MODEL}/1/model.onnx`, data: readFileSync(join(v2, 'model.onnx')) }]),
  );
  await s3.put(`${prefix}${VERSION_LAYOUT.modelCard}`, readFileSync(join(v2, 'model-card.json')), 'application/json');
  const bins = { name: 'score', edges: [], proportions: [1] };
  const psiBins = PsiBins.parse({ version: 1, rows: 1, features: [{ ...bins, name: 'amount' }], prediction: bins });
  await s3.put(`${prefix}${VERSION_LAYOUT.psiBins}`, JSON.stringify(psiBins), 'application/json');
  const ssm = new LocalParameterStore(join(dir, 'data'), template);
  const champion = template.ofType('AWS::SSM::Parameter').find((p) => p.ref.endsWith(`/models/${MODEL}/champion`))?.ref;
  if (!champion) throw new Error('the Dev template has no champion pointer');
  const endpoints = await LocalModelEndpoints.start({
    template,
    dataDir: join(dir, 'data'),
    ssm,
    s3,
    root: PROJECT_ROOT,
    models: [{ name: MODEL, manifestDir: bootstrap, bootstrapModelDir: bootstrap }],
    canaryBakeSeconds: 0,
  });
  const stack = endpoints.get(MODEL);
  return {
    stack,
    endpoints,
    prefix,
    /** Moves the champion pointer and updates the stack with its previous template, as the state machine does. */
    promote: async () => {
      ssm.put(champion, prefix, { overwrite: true });
      endpoints.updateStack({ StackName: stack.stackName, UsePreviousTemplate: true });
      expect(stack.status).toBe('UPDATE_IN_PROGRESS');
      await stack.idle();
    },
    close: async () => {
      await endpoints.close();
      s3.close();
      await backends.close();
    },
  };
}

describe('GIVEN the local Dev models stack and a new champion pointer', () => {
  const dirs: string[] = [];
  let plain: LocalTemplate;
  let custom: LocalTemplate;

  beforeAll(() => {
    if (!existsSync(FIXTURE_SCRIPT)) throw new Error(`no fixture model script at ${FIXTURE_SCRIPT}`);
    plain = synthesizeDev(false);
    custom = synthesizeDev(true);
  }, 120_000);

  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    cleanTestApps();
  });

  const workDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'aims-update-rules-'));
    dirs.push(dir);
    return dir;
  };

  it('WHEN the job definition has a custom name THEN the update fails and rolls back, and nothing changes', async () => {
    const definition = custom.ofType('AWS::SageMaker::DataQualityJobDefinition')[0];
    expect(definition?.properties.JobDefinitionName).toBe(CUSTOM_NAME);
    const local = await localModels(custom, workDir());
    try {
      const before = structuredClone(local.stack.deployed);
      await local.promote();
      expect(local.stack.status).toBe('UPDATE_ROLLBACK_COMPLETE');
      const [described] = local.endpoints.describeStacks(local.stack.stackName);
      expect(described?.StackStatus).toBe('UPDATE_ROLLBACK_COMPLETE');
      expect(described?.StackStatusReason).toContain(`failed to update: [${definition?.logicalId}]`);
      expect(described?.StackStatusReason).toContain(refusalReason(CUSTOM_NAME));
      // Nothing moved: the same model serves, and the monitor still reads the bootstrap baseline.
      expect(local.stack.deployed).toEqual(before);
      expect(local.stack.deployed.version).toBe('bootstrap-1');
      expect(local.stack.deployments.at(-1)).toMatchObject({ outcome: 'rolled-back' });
      const schedule = local.stack.describeMonitoringSchedule(before.dataQuality?.scheduleName as string);
      expect(schedule.MonitoringScheduleConfig.MonitoringJobDefinitionName).toBe(CUSTOM_NAME);
      expect(
        local.stack.describeDataQualityJobDefinition(CUSTOM_NAME).DataQualityBaselineConfig.StatisticsResource.S3Uri,
      ).toBe(before.dataQuality?.statisticsUri);
    } finally {
      await local.close();
    }
  }, 180_000);

  it('WHEN CloudFormation names the job definition THEN the same update replaces it and completes', async () => {
    expect(plain.ofType('AWS::SageMaker::DataQualityJobDefinition')[0]?.properties.JobDefinitionName).toBeUndefined();
    const local = await localModels(plain, workDir());
    try {
      await local.promote();
      expect(local.stack.status).toBe('UPDATE_COMPLETE');
      expect(local.stack.deployed.version).toBe('v2');
      const dq = local.stack.deployed.dataQuality;
      expect(dq?.statisticsUri).toBe(`${local.prefix}${VERSION_LAYOUT.statistics}`);
      // The retraining run's view: the schedule names the definition, which holds the new baseline.
      const schedule = local.stack.describeMonitoringSchedule(dq?.scheduleName as string);
      const name = schedule.MonitoringScheduleConfig.MonitoringJobDefinitionName;
      expect(
        local.stack.describeDataQualityJobDefinition(name).DataQualityBaselineConfig.StatisticsResource.S3Uri,
      ).toBe(`${local.prefix}${VERSION_LAYOUT.statistics}`);
    } finally {
      await local.close();
    }
  }, 180_000);

  it('WHEN a data directory of the one-endpoint local stage restarts THEN its endpoint takes its state over', async () => {
    const dir = workDir();
    const first = await localModels(plain, dir);
    try {
      await first.promote();
      expect(first.stack.deployed.version).toBe('v2');
    } finally {
      await first.close();
    }
    // The one-endpoint stage kept `<stack>.json`; each endpoint now keeps `<stack>.<model>.json`.
    const folder = join(dir, 'data', 'models-stack');
    const legacy = join(folder, `${first.stack.stackName}.json`);
    renameSync(join(folder, `${first.stack.stackName}.${MODEL}.json`), legacy);
    const again = await localModels(plain, dir);
    try {
      expect(again.stack.status).toBe('UPDATE_COMPLETE');
      expect(again.stack.deployed.version).toBe('v2');
      expect(again.stack.deployments).toHaveLength(1);
      expect(existsSync(legacy)).toBe(false);
    } finally {
      await again.close();
    }
  }, 240_000);
});
