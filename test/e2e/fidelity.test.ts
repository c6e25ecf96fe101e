// Fidelity of the local stage: what runs is what the synthesized dev template declares, resource by resource.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { apiRoutes } from '../../lambdas/shared/contracts/api.js';
import { environments } from '../../lib/config/environments.js';
import { discoverModels, realtimeModels, servedModels } from '../../lib/config/models.js';
import { RESOURCE_SUPPORT, unsupportedTypes } from '../../local/fidelity.js';
import { ROOT, STAGE_NAME } from '../../local/stage.js';
import {
  call,
  type E2eStage,
  expectErrorBody,
  type SdkClients,
  STAGE_HOOK_TIMEOUT_MS,
  sdkClients,
  startE2eStage,
} from './support.js';

interface RawResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** The dev stage's stacks exactly as `cdk synth` wrote them (read independently of the stage's own loader). */
function rawDevTemplates(): { stackName: string; resources: Record<string, RawResource> }[] {
  const dir = join(ROOT, 'cdk.out', `assembly-${STAGE_NAME}`);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string; stackName?: string } }>;
  };
  return Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => {
      const template = JSON.parse(readFileSync(join(dir, a.properties?.templateFile as string), 'utf8')) as {
        Resources: Record<string, RawResource>;
      };
      return { stackName: a.properties?.stackName ?? id, resources: template.Resources };
    });
}

let e2e: E2eStage;
let aws: SdkClients;
const raw = rawDevTemplates();

/** `<stack>/<logicalId>` of every raw resource of a type. */
const rawIds = (type: string): string[] =>
  raw
    .flatMap((s) =>
      Object.entries(s.resources)
        .filter(([, r]) => r.Type === type)
        .map(([id]) => `${s.stackName}/${id}`),
    )
    .sort();

/** Physical names (Ref) the stage resolved for the raw resources of a type. */
const refsOf = (type: string): string[] =>
  e2e.stage.template
    .ofType(type)
    .map((r) => r.ref)
    .sort();

beforeAll(async () => {
  e2e = await startE2eStage('fidelity');
  aws = sdkClients(e2e.stage);
}, STAGE_HOOK_TIMEOUT_MS);

afterAll(async () => {
  aws?.destroy();
  await e2e?.close();
}, STAGE_HOOK_TIMEOUT_MS);

describe('GIVEN the synthesized dev template and the stage running it', () => {
  it('WHEN every resource type is looked up THEN each runs locally or is cloud-only with a reason', () => {
    expect(unsupportedTypes(e2e.stage.template)).toEqual([]);
    for (const [type, support] of Object.entries(RESOURCE_SUPPORT)) {
      const reason = 'local' in support ? support.local : support.cloudOnly;
      expect(`${type}: ${reason.trim()}`).toMatch(/^(AWS::\w+::\w+|Custom::\w+): \S.{9,}/);
    }
  });

  it('WHEN the stage loaded the template THEN it holds every resource of every dev stack, no more, no fewer', () => {
    const loaded = e2e.stage.template.resources.map((r) => `${r.stackName}/${r.logicalId}`).sort();
    const declared = raw.flatMap((s) => Object.keys(s.resources).map((id) => `${s.stackName}/${id}`)).sort();
    expect(loaded).toEqual(declared);
  });

  it('WHEN the local DynamoDB, Kinesis and S3 are listed through the SDK THEN they hold exactly the template tables, streams and buckets', async () => {
    expect(refsOf('AWS::DynamoDB::Table')).toHaveLength(rawIds('AWS::DynamoDB::Table').length);
    expect((await aws.dynamo.send(new ListTablesCommand({}))).TableNames?.slice().sort()).toEqual(
      refsOf('AWS::DynamoDB::Table'),
    );
    expect((await aws.kinesis.send(new ListStreamsCommand({}))).StreamNames?.slice().sort()).toEqual(
      refsOf('AWS::Kinesis::Stream'),
    );
    // Besides the template's buckets, only CDK's asset staging bucket (what `cdk bootstrap` creates on AWS), to which
    // the local stage publishes the file assets the manifests name (bootstrap model, baselines, training code).
    const listed = (await aws.s3.send(new ListBucketsCommand({}))).Buckets?.map((b) => b.Name as string) ?? [];
    const staging = listed.filter((name) => /^cdk-[a-z0-9]+-assets-\d{12}-[a-z0-9-]+$/.test(name));
    expect(staging.length).toBeLessThanOrEqual(1);
    expect(listed.filter((name) => !staging.includes(name)).sort()).toEqual(refsOf('AWS::S3::Bucket'));
    expect([...e2e.stage.services.provisioned.tables].sort()).toEqual(refsOf('AWS::DynamoDB::Table'));
  });

  it('WHEN the bus rules are compared THEN every enabled rule of the template is applied locally', () => {
    const enabled = e2e.stage.template
      .ofType('AWS::Events::Rule')
      .filter((r) => r.properties.State !== 'DISABLED')
      .map((r) => (r.ref.includes('|') ? (r.ref.split('|').pop() as string) : r.ref));
    const missing = enabled.filter((name) => !e2e.stage.services.eventBridge.ruleNames().includes(name));
    const label = (name: string) => {
      const rule = e2e.stage.template.ofType('AWS::Events::Rule').find((r) => r.ref.endsWith(name));
      return `${name} (${rule?.properties.ScheduleExpression ?? 'pattern'})`;
    };
    expect(missing.map(label)).toEqual([]);
    expect(e2e.stage.services.eventBridge.ruleNames().sort()).toEqual(enabled.sort());
  });

  it('WHEN the functions and event-source mappings are compared THEN the runtime runs exactly the template functions', () => {
    // All but custom-resource providers (BucketDeployment's copier): CloudFormation runs those during a deploy.
    const providers = raw.flatMap((s) =>
      Object.values(s.resources)
        .filter((r) => r.Type.startsWith('Custom::'))
        .map((r) => (r.Properties?.ServiceToken as { 'Fn::GetAtt'?: string[] } | undefined)?.['Fn::GetAtt']?.[0])
        .map((id) => `${s.stackName}/${id}`),
    );
    expect(providers.length).toBeGreaterThan(0);
    expect(e2e.stage.runtime.functions.map((f) => `${f.stackName}/${f.logicalId}`).sort()).toEqual(
      rawIds('AWS::Lambda::Function').filter((id) => !providers.includes(id)),
    );
    expect(e2e.stage.mappings.mappings.map((m) => m.id).sort()).toEqual(
      rawIds('AWS::Lambda::EventSourceMapping').map((id) => id.replace('/', '-')),
    );
  });

  it('WHEN the RestApi Body routes are compared THEN the API serves exactly them, as the contract lists them', async () => {
    const api = raw.flatMap((s) => Object.values(s.resources)).filter((r) => r.Type === 'AWS::ApiGateway::RestApi');
    expect(api).toHaveLength(1);
    const body = api[0]?.Properties?.Body as { paths?: Record<string, Record<string, unknown>> } | undefined;
    const paths = body?.paths ?? {};
    const declared = Object.entries(paths)
      .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    const served = e2e.stage.api.definition.operations.map((o) => `${o.method.toUpperCase()} ${o.resourcePath}`).sort();
    expect(served).toEqual(declared);
    // The fixed routes and one predict route per real-time model of the dev environments table.
    const realtime = realtimeModels(servedModels(discoverModels(join(ROOT, 'models')), environments.Dev.models, 'Dev'));
    const routes = apiRoutes(realtime.map((m) => ({ name: m.manifest.name })));
    expect(declared).toEqual(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort());

    // Over HTTP: each declared route answers as a route (200 public, 401 secured without a token), nothing else does.
    for (const route of routes) {
      const path = route.path.replace('{id}', 'some-id');
      const response = await call(
        e2e.stage,
        route.method.toUpperCase(),
        path,
        route.method === 'post' ? { body: {} } : {},
      );
      if (route.scope === null) expect(response.status).toBe(200);
      else expectErrorBody(response, 401, 'unauthorized');
    }
    expectErrorBody(await call(e2e.stage, 'DELETE', '/v1/score'), 404, 'not_found');
  });

  it("WHEN the console is opened on the stage THEN the built app and a config.json naming the template's console client come back, and nothing outside console/dist", async () => {
    const index = await fetch(`${e2e.stage.url}/console/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toBe(readFileSync(join(ROOT, 'console', 'dist', 'index.html'), 'utf8'));
    const config = (await (await fetch(`${e2e.stage.url}/console/config.json`)).json()) as {
      stage: string;
      apiUrl: string;
      auth: { authority: string; clientId: string };
    };
    const client = e2e.stage.api.definition.clients.find((c) => c.name === 'console');
    expect(config).toMatchObject({ stage: 'local', apiUrl: '', auth: { clientId: client?.clientId } });
    expect(config.auth.authority).toBe(`${e2e.stage.url}/cognito/${client?.poolRef}`);
    expect((await fetch(`${e2e.stage.url}/console/..%2f..%2fpackage.json`)).status).toBe(404);
  });
});
