// loadLocalTemplate: intrinsics resolve to the local stage's deterministic names, on a fixture and the real assembly.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bucketName, defaultPhysicalName, loadLocalTemplate, TemplateResolutionError } from '../index.js';

const ENV = 'aws://123456789012/eu-west-1';

function writeAssembly(
  root: string,
  stacks: Record<string, { stackName: string; template: unknown; environment?: string }>,
): void {
  const stage = join(root, 'assembly-Test');
  mkdirSync(stage, { recursive: true });
  writeFileSync(
    join(root, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: {
        'assembly-Test': {
          type: 'cdk:cloud-assembly',
          properties: { directoryName: 'assembly-Test', displayName: 'Test' },
        },
      },
    }),
  );
  const artifacts: Record<string, unknown> = {};
  for (const [id, { stackName, template, environment }] of Object.entries(stacks)) {
    writeFileSync(join(stage, `${id}.template.json`), JSON.stringify(template));
    artifacts[id] = {
      type: 'aws:cloudformation:stack',
      environment: environment ?? ENV,
      properties: { templateFile: `${id}.template.json`, stackName },
    };
  }
  writeFileSync(join(stage, 'manifest.json'), JSON.stringify({ version: '55.0.0', artifacts }));
}

const dataTemplate = {
  Parameters: { BootstrapVersion: { Type: 'String', Default: '/cdk-bootstrap/version' } },
  Conditions: { IsEu: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] } },
  Resources: {
    Table1: {
      Type: 'AWS::DynamoDB::Table',
      Properties: { KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
      Metadata: { 'aws:cdk:path': 'Test/Data/Table/Resource' },
    },
    Bucket1: { Type: 'AWS::S3::Bucket', Properties: {} },
    Stream1: { Type: 'AWS::Kinesis::Stream', Properties: { ShardCount: 1 } },
    Bus1: { Type: 'AWS::Events::EventBus', Properties: { Name: 'TestBus' } },
    Queue1: { Type: 'AWS::SQS::Queue', Properties: {} },
    Named: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'explicit-name' } },
  },
  Outputs: {
    OutTable: { Value: { Ref: 'Table1' } },
    OutStreamArn: { Value: { 'Fn::GetAtt': ['Stream1', 'Arn'] } },
    OutBus: { Value: { Ref: 'Bus1' }, Export: { Name: 'TestBusName' } },
  },
};

const servicesTemplate = {
  Resources: {
    Pool: { Type: 'AWS::Cognito::UserPool', Properties: {} },
    Client: { Type: 'AWS::Cognito::UserPoolClient', Properties: { UserPoolId: { Ref: 'Pool' }, ClientName: 'gw' } },
    Topic: { Type: 'AWS::SNS::Topic', Properties: {} },
    Fn: {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Handler: 'index.handler',
        Environment: {
          Variables: {
            TABLE: { 'Fn::GetStackOutput': { StackName: 'Test-Data', OutputName: 'OutTable', Region: 'eu-west-1' } },
            BUS: { 'Fn::ImportValue': 'TestBusName' },
            ISSUER: { 'Fn::GetAtt': ['Pool', 'ProviderURL'] },
            JWKS: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Pool', 'ProviderURL'] }, '/.well-known/jwks.json']] },
            CLIENTS: { 'Fn::Join': [',', [{ Ref: 'Client' }]] },
            TOPIC: { Ref: 'Topic' },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub template
            SUB: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}/${!literal}/${Fn.Arn}' },
            // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub template
            SUB_VARS: { 'Fn::Sub': ['${Name}-${AWS::AccountId}', { Name: { Ref: 'AWS::StackName' } }] },
            SELECT: { 'Fn::Select': [1, { 'Fn::Split': ['/', 'a/b/c'] }] },
            REGION_OR: { 'Fn::If': ['IsEu', 'eu', 'other'] },
            DROPPED: { Ref: 'AWS::NoValue' },
          },
        },
      },
    },
    Rule: {
      Type: 'AWS::Events::Rule',
      Properties: {
        EventBusName: { 'Fn::ImportValue': 'TestBusName' },
        EventPattern: { source: ['x'] },
        Targets: [
          { Arn: { 'Fn::GetAtt': ['Fn', 'Arn'] }, Id: 'T0' },
          { Arn: { Ref: 'FnAlias' }, Id: 'T1' },
        ],
      },
    },
    FnVersion: { Type: 'AWS::Lambda::Version', Properties: { FunctionName: { Ref: 'Fn' } } },
    FnAlias: {
      Type: 'AWS::Lambda::Alias',
      Properties: {
        FunctionName: { Ref: 'Fn' },
        FunctionVersion: { 'Fn::GetAtt': ['FnVersion', 'Version'] },
        Name: 'live',
      },
    },
  },
  Conditions: { IsEu: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] } },
  Parameters: { Bucket: { Type: 'String', Default: 'param-bucket' } },
};

describe('loadLocalTemplate', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'aims-template-'));
    writeAssembly(root, {
      TestData: { stackName: 'Test-Data', template: dataTemplate },
      TestServices: { stackName: 'Test-Services', template: servicesTemplate },
    });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('GIVEN a cdk.out with a nested stage WHEN loaded THEN account, region and the stage directory come from it', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    expect(template.account).toBe('123456789012');
    expect(template.region).toBe('eu-west-1');
    expect(template.assemblyDir).toBe(join(root, 'assembly-Test'));
    expect(template.resources).toHaveLength(13);
    // The stage directory itself is accepted too.
    expect(loadLocalTemplate({ assemblyDir: join(root, 'assembly-Test'), stageName: 'Test' }).resources).toHaveLength(
      13,
    );
  });

  it('GIVEN resources without names WHEN loaded THEN physical names follow <StackName>-<LogicalId>', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    const table = template.ofType('AWS::DynamoDB::Table').find((r) => r.logicalId === 'Table1');
    expect(table?.ref).toBe('Test-Data-Table1');
    expect(table?.path).toBe('Test/Data/Table/Resource');
    expect(table?.attributes.Arn).toBe('arn:aws:dynamodb:eu-west-1:123456789012:table/Test-Data-Table1');
    expect(template.ofType('AWS::DynamoDB::Table').find((r) => r.logicalId === 'Named')?.ref).toBe('explicit-name');
    expect(template.ofType('AWS::S3::Bucket')[0]?.ref).toBe('test-data-bucket1');
    expect(template.ofType('AWS::Events::EventBus')[0]?.ref).toBe('TestBus');
    expect(template.ofType('AWS::Kinesis::Stream')[0]?.attributes.Arn).toBe(
      'arn:aws:kinesis:eu-west-1:123456789012:stream/Test-Data-Stream1',
    );
  });

  it('GIVEN endpoints WHEN loaded THEN a queue Ref is its local URL and without them a never-resolving placeholder', () => {
    const live = loadLocalTemplate({
      assemblyDir: root,
      stageName: 'Test',
      endpoints: { sqs: 'http://127.0.0.1:4567/' },
    });
    const queue = live.ofType('AWS::SQS::Queue')[0];
    expect(queue?.ref).toBe('http://127.0.0.1:4567/123456789012/Test-Data-Queue1');
    expect(queue?.attributes.Arn).toBe('arn:aws:sqs:eu-west-1:123456789012:Test-Data-Queue1');
    const offline = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    expect(offline.ofType('AWS::SQS::Queue')[0]?.ref).toBe('http://sqs.invalid/123456789012/Test-Data-Queue1');
  });

  it('GIVEN every supported intrinsic WHEN loaded THEN the function environment holds local values', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test', apiBaseUrl: 'http://127.0.0.1:3999/' });
    const fn = template.ofType('AWS::Lambda::Function')[0];
    const pool = template.ofType('AWS::Cognito::UserPool')[0];
    const client = template.ofType('AWS::Cognito::UserPoolClient')[0];
    expect(pool?.ref).toMatch(/^eu-west-1_[A-Za-z0-9]{9}$/);
    expect(client?.ref).toMatch(/^[a-z0-9]{26}$/);
    const env = (fn?.properties.Environment as { Variables: Record<string, string> } | undefined)?.Variables;
    expect(env).toEqual({
      TABLE: 'Test-Data-Table1',
      BUS: 'TestBus',
      ISSUER: `http://127.0.0.1:3999/cognito/${pool?.ref}`,
      JWKS: `http://127.0.0.1:3999/cognito/${pool?.ref}/.well-known/jwks.json`,
      CLIENTS: client?.ref,
      TOPIC: 'arn:aws:sns:eu-west-1:123456789012:Test-Services-Topic',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub keeps ${!literal} as a literal ${literal}
      SUB: 'arn:aws:s3:::param-bucket/${literal}/arn:aws:lambda:eu-west-1:123456789012:function:Test-Services-Fn',
      SUB_VARS: 'Test-Services-123456789012',
      SELECT: 'b',
      REGION_OR: 'eu',
    });
    expect(pool?.attributes.ProviderName).toBe(`127.0.0.1:3999/cognito/${pool?.ref}`);
  });

  it('GIVEN a rule on a custom bus WHEN loaded THEN its Ref and ARN carry the bus, and byArn finds targets', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    const rule = template.ofType('AWS::Events::Rule')[0];
    expect(rule?.ref).toBe('TestBus|Test-Services-Rule');
    expect(rule?.attributes.Arn).toBe('arn:aws:events:eu-west-1:123456789012:rule/TestBus/Test-Services-Rule');
    const targetArn = (rule?.properties.Targets as Array<{ Arn: string }> | undefined)?.[0]?.Arn ?? '';
    expect(template.byArn(targetArn)?.logicalId).toBe('Fn');
    expect(template.byArn('Test-Services-Fn')?.logicalId).toBe('Fn');
    expect(template.byArn(`${targetArn}:live`)?.logicalId).toBe('Fn');
    expect(
      template.byArn(`arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${targetArn}/invocations`)
        ?.logicalId,
    ).toBe('Fn');
    expect(template.byArn('arn:aws:sqs:eu-west-1:123456789012:Test-Data-Queue1')?.logicalId).toBe('Queue1');
    expect(template.byArn('arn:aws:lambda:eu-west-1:123456789012:function:nope')).toBeUndefined();
  });

  it('GIVEN an alias of a function WHEN its ARN or an integration URI naming it is looked up THEN it is that function', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    const fnArn = 'arn:aws:lambda:eu-west-1:123456789012:function:Test-Services-Fn';
    const alias = template.ofType('AWS::Lambda::Alias')[0];
    expect(alias?.ref).toBe(`${fnArn}:live`);
    expect(alias?.attributes.AliasArn).toBe(`${fnArn}:live`);
    expect(alias?.properties).toMatchObject({ FunctionName: 'Test-Services-Fn', FunctionVersion: '1' });
    const targets = (template.ofType('AWS::Events::Rule')[0]?.properties.Targets ?? []) as Array<{ Arn: string }>;
    expect(targets[1]?.Arn).toBe(`${fnArn}:live`);
    for (const arn of [
      `${fnArn}:live`,
      `arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${fnArn}:live/invocations`,
      `${fnArn}:1`,
      `${fnArn}:$LATEST`,
    ]) {
      expect(template.byArn(arn)).toMatchObject({ logicalId: 'Fn', type: 'AWS::Lambda::Function' });
    }
  });

  it('GIVEN a qualifier that is no alias of the template WHEN looked up THEN nothing answers (Lambda would refuse it)', () => {
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    const fnArn = 'arn:aws:lambda:eu-west-1:123456789012:function:Test-Services-Fn';
    expect(template.byArn(`${fnArn}:canary`)).toBeUndefined();
    expect(
      template.byArn(`arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/${fnArn}:canary/invocations`),
    ).toBeUndefined();
  });

  it('GIVEN the same assembly twice WHEN loaded THEN every Ref and attribute is identical (restart keeps names)', () => {
    const a = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    const b = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    expect(b.resources.map((r) => [r.ref, r.attributes])).toEqual(a.resources.map((r) => [r.ref, r.attributes]));
  });

  it('GIVEN an attribute with no local value WHEN loaded THEN the error names the resource and attribute', () => {
    const bad = mkdtempSync(join(tmpdir(), 'aims-template-bad-'));
    try {
      writeAssembly(bad, {
        S: {
          stackName: 'Test-S',
          template: {
            Resources: {
              Q: { Type: 'AWS::SQS::Queue', Properties: {} },
              F: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['Q', 'Bogus'] } } },
            },
          },
        },
      });
      expect(() => loadLocalTemplate({ assemblyDir: bad, stageName: 'Test' })).toThrow(TemplateResolutionError);
      expect(() => loadLocalTemplate({ assemblyDir: bad, stageName: 'Test' })).toThrow(
        /Test-S\/F\.Properties\.Role.*attribute Bogus of Q \(AWS::SQS::Queue\) has no local value/,
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });

  it('GIVEN a reference to a missing stack output or stage WHEN loaded THEN it fails with what is missing', () => {
    const bad = mkdtempSync(join(tmpdir(), 'aims-template-bad-'));
    try {
      writeAssembly(bad, {
        S: {
          stackName: 'Test-S',
          template: {
            Resources: {
              F: {
                Type: 'AWS::Lambda::Function',
                Properties: { X: { 'Fn::GetStackOutput': { StackName: 'Test-Data', OutputName: 'Nope' } } },
              },
            },
          },
        },
      });
      expect(() => loadLocalTemplate({ assemblyDir: bad, stageName: 'Test' })).toThrow(/no stack Test-Data/);
      expect(() => loadLocalTemplate({ assemblyDir: bad, stageName: 'Prod' })).toThrow(/no stage "Prod"/);
      expect(() => loadLocalTemplate({ assemblyDir: join(bad, 'nowhere'), stageName: 'Test' })).toThrow(
        /missing .*manifest\.json: run `npm run synth` first/,
      );
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});

describe('a stage with a stack in a second region', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const EDGE_ENV = 'aws://123456789012/us-east-1';
  const edge = (resources: Record<string, unknown>) => ({
    stackName: 'Test-Edge',
    environment: EDGE_ENV,
    template: { Resources: resources, Outputs: { AclArn: { Value: { 'Fn::GetAtt': ['Acl', 'Arn'] } } } },
  });
  const site = (region: string) => ({
    stackName: 'Test-Site',
    template: {
      Resources: {
        Bucket: { Type: 'AWS::S3::Bucket', Properties: {} },
        Cdn: {
          Type: 'AWS::CloudFront::Distribution',
          Properties: {
            DistributionConfig: {
              WebACLId: { 'Fn::GetStackOutput': { StackName: 'Test-Edge', OutputName: 'AclArn', Region: region } },
            },
          },
        },
      },
    },
  });

  it('GIVEN only cloud-only resources in us-east-1 (a CloudFront web ACL) WHEN loaded THEN the stage runs in its own region and reads the output across', () => {
    root = mkdtempSync(join(tmpdir(), 'aims-template-edge-'));
    // The edge stack first: the stage's region is where its runnable stacks are, not the first stack's.
    writeAssembly(root, {
      Edge: edge({ Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Scope: 'CLOUDFRONT' } } }),
      Site: site('us-east-1'),
    });
    const template = loadLocalTemplate({ assemblyDir: root, stageName: 'Test' });
    expect(template.region).toBe('eu-west-1');
    const cdn = template.ofType('AWS::CloudFront::Distribution')[0];
    expect(cdn?.properties).toEqual({
      DistributionConfig: { WebACLId: expect.stringMatching(/^arn:aws:wafv2:us-east-1:123456789012:/) },
    });
  });

  it('GIVEN the output read with the wrong Region WHEN loaded THEN it is refused, as CloudFormation refuses it', () => {
    root = mkdtempSync(join(tmpdir(), 'aims-template-edge-'));
    writeAssembly(root, {
      Edge: edge({ Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Scope: 'CLOUDFRONT' } } }),
      Site: site('eu-west-1'),
    });
    expect(() => loadLocalTemplate({ assemblyDir: root, stageName: 'Test' })).toThrow(
      /Test-Edge is in us-east-1, not eu-west-1/,
    );
  });

  it('GIVEN something the local stage runs in the second region WHEN loaded THEN it is refused with both stacks named', () => {
    root = mkdtempSync(join(tmpdir(), 'aims-template-edge-'));
    writeAssembly(root, {
      Edge: edge({
        Acl: { Type: 'AWS::WAFv2::WebACL', Properties: { Scope: 'CLOUDFRONT' } },
        Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      }),
      Site: site('us-east-1'),
    });
    expect(() => loadLocalTemplate({ assemblyDir: root, stageName: 'Test' })).toThrow(
      /runs resources in us-east-1 \(Test-Edge\) and eu-west-1 \(Test-Site\); the local stage runs one region/,
    );
  });
});

describe('physical name helpers', () => {
  it('GIVEN a long name WHEN shortened THEN it keeps the limit and stays unique by a hash suffix', () => {
    const a = defaultPhysicalName('Dev-Services', `Function${'X'.repeat(80)}A`, 64);
    const b = defaultPhysicalName('Dev-Services', `Function${'X'.repeat(80)}B`, 64);
    expect(a).toHaveLength(64);
    expect(a).not.toBe(b);
    expect(defaultPhysicalName('Dev-Data', 'Table1', 64)).toBe('Dev-Data-Table1');
  });

  it('GIVEN any stack and logical id WHEN turned into a bucket name THEN it satisfies the S3 rules', () => {
    for (const [stack, id] of [
      ['Dev-Data', 'LakeBucket9CD7BBD2'],
      ['Dev_Weird.Stack', `Very${'Long'.repeat(30)}Bucket`],
    ] as const) {
      const name = bucketName(stack, id);
      expect(name).toMatch(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/);
    }
  });
});

// The real dev assembly, when `npm run synth` has produced it (the e2e suite always synthesizes first).
const devAssembly = join(process.cwd(), 'cdk.out');
const describeDev = existsSync(join(devAssembly, 'assembly-Dev', 'manifest.json')) ? describe : describe.skip;

describeDev('loadLocalTemplate on the synthesized Dev stage', () => {
  it('GIVEN cdk.out WHEN the Dev stage is loaded THEN no intrinsic is left anywhere in its resources', () => {
    const template = loadLocalTemplate({ assemblyDir: devAssembly, stageName: 'Dev' });
    const leftovers: string[] = [];
    const walk = (value: unknown, where: string): void => {
      if (Array.isArray(value)) {
        value.forEach((v, i) => {
          walk(v, `${where}[${i}]`);
        });
      } else if (typeof value === 'object' && value !== null) {
        for (const [k, v] of Object.entries(value)) {
          if (k === 'Ref' || k.startsWith('Fn::')) leftovers.push(`${where}.${k}`);
          walk(v, `${where}.${k}`);
        }
      }
    };
    for (const r of template.resources) walk(r.properties, `${r.stackName}/${r.logicalId}`);
    expect(leftovers).toEqual([]);
    expect(template.ofType('AWS::Lambda::Function').length).toBeGreaterThan(0);
    for (const fn of template.ofType('AWS::Lambda::Function')) {
      expect(template.byArn(fn.attributes.Arn ?? '')).toBe(fn);
    }
  });
});
