// The console stack: a private bucket behind CloudFront (OAC, HTTPS, security headers), /v1/* to the API without
// caching, the runtime config written at deploy, and the console's public code-flow client with its usage-plan key.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Capture, Match, type Template } from 'aws-cdk-lib/assertions';
import { environments } from '../lib/config/environments.js';
import { CONSOLE_METADATA_KEY } from '../lib/constructs/console-metadata.js';
import { ConsoleSite } from '../lib/constructs/console-site.js';
import { ConsoleEdgeStack } from '../lib/stacks/console-edge-stack.js';
import type { AimsStage } from '../lib/stages/aims-stage.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON walked by path.
type Json = any;

let stage: AimsStage;
let template: Template;

beforeAll(() => {
  stage = testApp().stages.Prod;
  template = templateOf(stage.console);
});
afterAll(() => cleanTestApps());

const only = (type: string): [string, Json] => {
  const all = Object.entries(template.findResources(type));
  expect(all).toHaveLength(1);
  return all[0] as [string, Json];
};

describe('GIVEN the Prod stage', () => {
  test('THEN the site bucket is private, encrypted, TLS-only and logs to the access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
      LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'console/' },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' }),
        ]),
      },
    });
  });

  test('THEN CloudFront serves index.html over HTTPS through OAC, and /v1/* goes to the API uncached with Authorization', () => {
    const [, distribution] = only('AWS::CloudFront::Distribution');
    expect(distribution.Metadata[CONSOLE_METADATA_KEY]).toBe('distribution');
    const config = distribution.Properties.DistributionConfig;
    expect(config.DefaultRootObject).toBe('index.html');
    expect(config.DefaultCacheBehavior.ViewerProtocolPolicy).toBe('redirect-to-https');
    expect(config.Origins.find((o: Json) => o.S3OriginConfig)?.OriginAccessControlId).toBeDefined();
    expect(config.Logging).toBeDefined();
    const api = config.CacheBehaviors.find((b: Json) => b.PathPattern === '/v1/*');
    expect(api).toMatchObject({
      ViewerProtocolPolicy: 'https-only',
      AllowedMethods: expect.arrayContaining(['POST', 'PUT', 'DELETE', 'PATCH']),
      // The managed CachingDisabled and AllViewerExceptHostHeader policies (AWS publishes their fixed ids).
      CachePolicyId: '4135ea2d-6df8-44a3-9df3-4b5a84be39ad',
      OriginRequestPolicyId: 'b689b0a8-53d0-40ab-baf2-68738e2966ac',
    });
    const origin = config.Origins.find((o: Json) => o.Id === api.TargetOriginId);
    expect(origin.CustomOriginConfig.OriginProtocolPolicy).toBe('https-only');
    expect(origin.OriginPath).toBeDefined();
  });

  test('THEN every response carries HSTS, a CSP of self + Cognito without framing, nosniff and a referrer policy', () => {
    const [, policy] = only('AWS::CloudFront::ResponseHeadersPolicy');
    const headers = policy.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
    expect(headers.StrictTransportSecurity).toMatchObject({ AccessControlMaxAgeSec: 31_536_000, Override: true });
    expect(headers.ContentTypeOptions).toEqual({ Override: true });
    expect(headers.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(headers.ReferrerPolicy.ReferrerPolicy).toBe('strict-origin-when-cross-origin');
    const csp = JSON.stringify(stage.console.resolve(headers.ContentSecurityPolicy.ContentSecurityPolicy));
    for (const directive of ["default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", 'connect-src']) {
      expect(csp).toContain(directive);
    }
    expect(csp).toContain('cognito-idp');
    expect(csp).not.toMatch(/unsafe-eval|script-src[^;]*unsafe-inline/);
  });

  test("THEN the console's client is public, code flow only, with the console's scopes and the distribution's URLs", () => {
    const [, client] = only('AWS::Cognito::UserPoolClient');
    expect(client.Metadata[CONSOLE_METADATA_KEY]).toBe('app-client');
    expect(client.Properties).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: expect.arrayContaining(['openid', 'aims/read', 'aims/feedback', 'aims/review', 'aims/admin']),
    });
    const [distributionId] = only('AWS::CloudFront::Distribution');
    expect(JSON.stringify(client.Properties.CallbackURLs)).toContain(distributionId);
  });

  test("THEN its API key names the client (CustomerId) and joins the API's usage plan", () => {
    const [clientId] = only('AWS::Cognito::UserPoolClient');
    const [keyId, key] = only('AWS::ApiGateway::ApiKey');
    expect(key.Properties.CustomerId).toEqual({ Ref: clientId });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', {
      KeyId: { Ref: keyId },
      KeyType: 'API_KEY',
      UsagePlanId: Match.anyValue(),
    });
  });

  test('THEN the deployment writes config.json with the issuer and client id resolved at deploy time, and the docs', () => {
    const sources = new Capture();
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      SourceMarkers: sources,
      DistributionPaths: ['/*'],
      Exclude: Match.arrayWith(['docs/*']),
    });
    const markers = JSON.stringify(sources.asArray());
    const [clientId] = only('AWS::Cognito::UserPoolClient');
    expect(markers).toContain(JSON.stringify({ Ref: clientId }));
    expect(markers).toContain('ProviderURL');
    template.hasResourceProperties('Custom::CDKBucketDeployment', { DestinationBucketKeyPrefix: 'docs/' });
  });
});

describe('GIVEN the Prod stage: the web ACL at the edge', () => {
  test('THEN a CloudFront-scoped web ACL in us-east-1 runs the managed rules and a per-viewer rate limit (429)', () => {
    expect(stage.consoleEdge.region).toBe('us-east-1');
    const edge = templateOf(stage.consoleEdge);
    edge.resourceCountIs('AWS::WAFv2::WebACL', 1);
    edge.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'CLOUDFRONT',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet' }) },
        }),
        Match.objectLike({
          Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesKnownBadInputsRuleSet' }) },
        }),
        Match.objectLike({
          Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesAmazonIpReputationList' }) },
        }),
        Match.objectLike({
          Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: 'throttled' } } },
          Statement: {
            RateBasedStatement: { Limit: environments.Prod.api.viewerRateLimitPer5Min, AggregateKeyType: 'IP' },
          },
        }),
      ],
    });
  });

  test("THEN the distribution is evaluated by it: the console stack reads the ACL's ARN from us-east-1", () => {
    const [, distribution] = only('AWS::CloudFront::Distribution');
    const edgeStackName = stage.consoleEdge.stackName;
    expect(distribution.Properties.DistributionConfig.WebACLId).toEqual({
      'Fn::GetStackOutput': { StackName: edgeStackName, Region: 'us-east-1', OutputName: expect.any(String) },
    });
    const output = distribution.Properties.DistributionConfig.WebACLId['Fn::GetStackOutput'].OutputName;
    const edgeOutputs = templateOf(stage.consoleEdge).toJSON().Outputs;
    expect(edgeOutputs[output].Value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^WebAcl/), 'Arn'] });
  });

  test('THEN an edge stack outside us-east-1 does not synthesize (CloudFront takes no web ACL from elsewhere)', () => {
    const app = new App();
    new ConsoleEdgeStack(app, 'Edge', {
      env: { account: '111111111111', region: 'eu-west-1' },
      viewerRateLimitPer5Min: 100,
    });
    expect(() => app.synth()).toThrow(
      /a CloudFront web ACL can only be created in us-east-1, this stack is in eu-west-1/,
    );
  });
});

describe('GIVEN a console site without a built app', () => {
  test('THEN it refuses to synthesize and says how to build it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'aims-console-empty-'));
    try {
      expect(
        () =>
          new ConsoleSite(new Stack(), 'Site', {
            ...({} as ConstructorParameters<typeof ConsoleSite>[2]),
            appDir: empty,
          }),
      ).toThrow(/appDir must hold the built console.*npm run console:build/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
