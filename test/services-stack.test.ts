// The services stack: routes and scopes, validation, usage plans, WAF, the stream consumer, bus rules and the
// exact permissions each function gets.
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { apiRoutes, ROUTES, type RouteDefinition } from '../lambdas/shared/contracts/api.js';
import { DETAIL_TYPES } from '../lambdas/shared/contracts/events.js';
import { API_CLIENTS } from '../lib/config/api-clients.js';
import { environments } from '../lib/config/environments.js';
import { bootstrapVersion, type ModelDeclaration, modelEndpointName } from '../lib/config/models.js';
import { GATEWAY_RESPONSES } from '../lib/constructs/api-gateway-definition.js';
import { inferenceComponentName } from '../lib/constructs/model-endpoint.js';
import { PROJECT_ROOT } from '../lib/constructs/service-function.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

const { stages } = testApp();
const dev = templateOf(stages.Dev.services);
const staging = templateOf(stages.Staging.services);
const prod = templateOf(stages.Prod.services);
afterAll(cleanTestApps);

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON that these tests walk by path.
type JsonTree = any;

type Resource = { Type: string; Properties: Record<string, unknown>; [k: string]: unknown };

function logicalIdOf(template: Template, type: string, pathPrefix: string): string {
  const found = Object.entries(template.toJSON().Resources as Record<string, Resource>).filter(
    ([id, r]) => r.Type === type && id.startsWith(pathPrefix),
  );
  if (found.length !== 1) throw new Error(`expected one ${type} starting ${pathPrefix}, found ${found.length}`);
  return found[0]?.[0] as string;
}

function apiBody(template: Template): JsonTree {
  const api = Object.values(template.findResources('AWS::ApiGateway::RestApi'))[0] as Resource;
  return api.Properties.Body as JsonTree;
}

/** Every IAM action a function's role may perform, from inline policies of this stack. */
function actionsOf(template: Template, fnPrefix: string): string[] {
  const fnId = logicalIdOf(template, 'AWS::Lambda::Function', `${fnPrefix}Function`);
  const fn = template.toJSON().Resources[fnId] as Resource;
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  const actions = new Set<string>();
  for (const policy of Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]) {
    const roles = policy.Properties.Roles as Array<{ Ref: string }>;
    if (!roles.some((r) => r.Ref === roleId)) continue;
    const doc = policy.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[] }> };
    for (const statement of doc.Statement) {
      for (const action of [statement.Action].flat()) actions.add(action);
    }
  }
  return [...actions].sort();
}

describe('GIVEN the API imported from the contract', () => {
  const body = apiBody(dev);

  test('THEN every route of the contract is a path of the API, integrated with its service function', () => {
    const routes = apiRoutes(
      Object.keys(stages.Dev.services.predictFunctions).map((name) => ({ name })),
      Object.keys(stages.Dev.services.labelFunctions).map((name) => ({ name })),
    );
    const templatePaths = Object.entries(body.paths as Record<string, Record<string, unknown>>).flatMap(([path, ops]) =>
      Object.keys(ops).map((method) => `${method} ${path}`),
    );
    expect(templatePaths.sort()).toEqual(routes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of routes) {
      const integration = body.paths[route.path][route.method]['x-amazon-apigateway-integration'];
      const service =
        route.service === 'predict' || route.service === 'labels'
          ? `${route.service === 'predict' ? 'Predict' : 'Labels'}${(route.model ?? '').replace(/-/g, '')}`
          : route.service.charAt(0).toUpperCase() + route.service.slice(1);
      expect(integration).toMatchObject({ type: 'aws_proxy', httpMethod: 'POST' });
      // Score is integrated through its live alias (provisioned concurrency lives there), the others directly.
      const target =
        route.service === 'score'
          ? logicalIdOf(dev, 'AWS::Lambda::Alias', 'ScoreAlias')
          : logicalIdOf(dev, 'AWS::Lambda::Function', `${service}Function`);
      expect(JSON.stringify(integration.uri)).toContain(`"${target}"`);
    }
  });

  test('THEN secured routes need the JWT authorizer and an API key, and health needs neither', () => {
    for (const route of ROUTES as readonly RouteDefinition[]) {
      const security = body.paths[route.path][route.method].security;
      expect(security).toEqual(route.scope ? [{ oauth2: [], api_key: [] }] : []);
    }
    const scheme = body.components.securitySchemes.oauth2;
    expect(scheme['x-amazon-apigateway-authtype']).toBe('custom');
    expect(scheme['x-amazon-apigateway-authorizer']).toMatchObject({
      type: 'request',
      identitySource: 'method.request.header.Authorization, context.httpMethod, context.resourcePath',
    });
    expect(JSON.stringify(scheme['x-amazon-apigateway-authorizer'].authorizerUri)).toContain('AuthorizerFunction');
    expect(body.components.securitySchemes.api_key).toMatchObject({ type: 'apiKey', in: 'header', name: 'x-api-key' });
    expect(body['x-amazon-apigateway-api-key-source']).toBe('AUTHORIZER');
  });

  test('THEN API Gateway validates bodies and parameters against the contract schemas', () => {
    expect(body['x-amazon-apigateway-request-validator']).toBe('body-and-params');
    expect(body['x-amazon-apigateway-request-validators']['body-and-params']).toEqual({
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const schema = body.paths['/v1/score'].post.requestBody.content['application/json'].schema;
    expect(schema).toEqual({ $ref: '#/components/schemas/Transaction' });
    expect(body.components.schemas.Transaction.required).toEqual(
      expect.arrayContaining(['transactionId', 'customerId', 'amount']),
    );
  });

  test('THEN every gateway response keeps the one error JSON shape', () => {
    const responses = body['x-amazon-apigateway-gateway-responses'];
    expect(Object.keys(responses).sort()).toEqual(Object.keys(GATEWAY_RESPONSES).sort());
    expect(responses.UNAUTHORIZED.statusCode).toBe('401');
    expect(responses.ACCESS_DENIED.statusCode).toBe('403');
    expect(responses.THROTTLED.statusCode).toBe('429');
    expect(responses.QUOTA_EXCEEDED.statusCode).toBe('429');
    expect(responses.BAD_REQUEST_BODY.statusCode).toBe('400');
    for (const [type, response] of Object.entries(responses) as Array<[string, JsonTree]>) {
      const template = response.responseTemplates['application/json'];
      expect(template).toContain(`"code":"${GATEWAY_RESPONSES[type]}"`);
      expect(template).toContain('"requestId":"$context.requestId"');
    }
  });

  test('THEN the stage logs errors to CloudWatch (never bodies), with the account role API Gateway needs for it', () => {
    for (const template of [dev, prod]) {
      template.hasResourceProperties('AWS::ApiGateway::Stage', {
        MethodSettings: Match.arrayWith([
          Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false }),
        ]),
      });
      const accounts = template.findResources('AWS::ApiGateway::Account');
      expect(Object.keys(accounts)).toHaveLength(1);
      const roleId = (Object.values(accounts)[0] as Resource).Properties.CloudWatchRoleArn as {
        'Fn::GetAtt': [string, string];
      };
      const role = template.toJSON().Resources[roleId['Fn::GetAtt'][0]] as Resource;
      expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain('apigateway.amazonaws.com');
      // Retained: another API of the account may rely on the same account setting after this stack is gone.
      expect(role.DeletionPolicy).toBe('Retain');
    }
  });

  test('THEN the execution log group exists before the stage, by the name API Gateway writes to, with the environment retention', () => {
    for (const [template, env] of [
      [dev, environments.Dev],
      [prod, environments.Prod],
    ] as const) {
      const apiId = logicalIdOf(template, 'AWS::ApiGateway::RestApi', 'Api');
      const groupId = logicalIdOf(template, 'AWS::Logs::LogGroup', 'ApiExecutionLogs');
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, '/api']] },
        RetentionInDays: env.logRetention,
      });
      const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as Resource;
      expect(stage.DependsOn).toEqual(expect.arrayContaining([groupId]));
    }
  });

  test('THEN every API Gateway invoke permission names the account besides the source ARN', () => {
    const permissions = Object.values(dev.findResources('AWS::Lambda::Permission')) as Resource[];
    const fromApi = permissions.filter((p) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(fromApi.length).toBeGreaterThan(ROUTES.length);
    for (const permission of fromApi) {
      expect(permission.Properties.SourceAccount).toBe(environments.Dev.account);
      expect(permission.Properties.SourceArn).toBeDefined();
    }
  });

  test('THEN the stage traces with X-Ray and writes JSON access logs', () => {
    dev.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('requestId') },
    });
  });
});

describe('GIVEN the real-time models (manifest serving.modes has realtime)', () => {
  const realtime = ['fraud-detector', 'merchant-risk'];
  const fnId = (model: string) =>
    logicalIdOf(dev, 'AWS::Lambda::Function', `Predict${model.replace(/-/g, '')}Function`);

  test('THEN each has one predict function, tagged with its model and role, configured from the environments table', () => {
    expect(Object.keys(stages.Dev.services.predictFunctions).sort()).toEqual(realtime);
    for (const model of realtime) {
      const fn = dev.toJSON().Resources[fnId(model)] as Resource;
      expect(fn.Metadata).toMatchObject({ 'aims:model': model, 'aims:role': 'predict' });
      const settings = environments.Dev.models[model as keyof typeof environments.Dev.models];
      expect((fn.Properties.Environment as JsonTree).Variables).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'predict',
        MODEL_NAME: model,
        MODEL_ENDPOINT_NAME: `aims-dev-${model}`,
        MODEL_TIMEOUT_MS: String(settings.modelTimeoutMs),
        MODEL_THRESHOLDS: JSON.stringify(settings.thresholds),
        DECISION_TTL_DAYS: String(environments.Dev.data.decisionTtlDays),
      });
    }
  });

  test('THEN a predict function may invoke its own model’s endpoint only, read features and write audit records', () => {
    expect(actionsOf(dev, 'Predictmerchantrisk')).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sagemaker:InvokeEndpoint',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const invoke = JSON.stringify(
      (Object.values(dev.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => JSON.stringify(p.Properties.Roles).includes('PredictmerchantriskRole'))
        .flatMap((p) => (p.Properties.PolicyDocument as JsonTree).Statement)
        .filter((st: JsonTree) => st.Action === 'sagemaker:InvokeEndpoint'),
    );
    expect(invoke).toContain('endpoint/aims-dev-merchant-risk');
    expect(invoke).not.toContain('fraud-detector');
  });

  test('THEN its literal route needs its own scope, takes the module’s schema and the idempotency header', () => {
    const body = apiBody(dev);
    const op = body.paths['/v1/models/merchant-risk/predict'].post;
    expect(JSON.stringify(op['x-amazon-apigateway-integration'].uri)).toContain(`"${fnId('merchant-risk')}"`);
    expect(op.parameters).toEqual([expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true })]);
    expect(op.requestBody.content['application/json'].schema).toMatchObject({
      required: expect.arrayContaining(['merchantId', 'date', 'count']),
      additionalProperties: false,
    });
    dev.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Scopes: Match.arrayWith(realtime.map((m) => Match.objectLike({ ScopeName: `predict.${m}` }))),
    });
    dev.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'risk-ops',
      AllowedOAuthScopes: [Match.objectLike({ 'Fn::Join': ['', [Match.anyValue(), '/predict.merchant-risk']] })],
    });
    dev.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PREDICT_MODELS: realtime.join(',') }) },
    });
    dev.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId('merchant-risk'), 'Arn'] },
      Principal: 'apigateway.amazonaws.com',
      SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith(['/*/POST/v1/models/merchant-risk/predict'])] }),
    });
  });
});

describe('GIVEN a model whose module declares entity-level labels (merchant-risk)', () => {
  const fnId = logicalIdOf(dev, 'AWS::Lambda::Function', 'LabelsmerchantriskFunction');

  test('THEN it alone has a labels function, tagged with its model and role, writing to the lake', () => {
    expect(Object.keys(stages.Dev.services.labelFunctions)).toEqual(['merchant-risk']);
    const fn = dev.toJSON().Resources[fnId] as Resource;
    expect(fn.Metadata).toMatchObject({ 'aims:model': 'merchant-risk', 'aims:role': 'labels' });
    expect((fn.Properties.Environment as JsonTree).Variables).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'labels',
      MODEL_NAME: 'merchant-risk',
      LAKE_BUCKET: expect.objectContaining({
        'Fn::GetStackOutput': expect.objectContaining({ StackName: 'Dev-Data' }),
      }),
    });
  });

  test('THEN the function may only put objects under its own model’s entity-labels prefix', () => {
    expect(actionsOf(dev, 'Labelsmerchantrisk')).toEqual([
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      's3:PutObject',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ]);
    const put = JSON.stringify(
      (Object.values(dev.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => JSON.stringify(p.Properties.Roles).includes('LabelsmerchantriskRole'))
        .flatMap((p) => (p.Properties.PolicyDocument as JsonTree).Statement)
        .filter((st: JsonTree) => st.Action === 's3:PutObject'),
    );
    expect(put).toContain('/entity-labels/model=merchant-risk/*');
  });

  test('THEN its literal route needs the feedback scope and takes the module’s label schema; the authorizer knows it', () => {
    const body = apiBody(dev);
    const op = body.paths['/v1/models/merchant-risk/labels'].post;
    expect(JSON.stringify(op['x-amazon-apigateway-integration'].uri)).toContain(`"${fnId}"`);
    expect(op.security).toEqual([{ oauth2: [], api_key: [] }]);
    expect(apiRoutes([], [{ name: 'merchant-risk' }]).at(-1)).toMatchObject({
      path: '/v1/models/merchant-risk/labels',
      scope: 'aims/feedback',
    });
    expect(op.requestBody.content['application/json'].schema).toMatchObject({
      required: expect.arrayContaining(['merchantId', 'date', 'compromised', 'reportedAt']),
      additionalProperties: false,
    });
    expect(body.paths['/v1/models/fraud-detector/labels']).toBeUndefined();
    dev.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ LABEL_MODELS: 'merchant-risk' }) },
    });
  });
});

describe('GIVEN the production request path (the score alias)', () => {
  const scoreRoute = (ROUTES as readonly RouteDefinition[]).find((r) => r.service === 'score');
  const uriOf = (template: Template) =>
    apiBody(template).paths[scoreRoute?.path ?? ''][scoreRoute?.method ?? '']['x-amazon-apigateway-integration'].uri;

  test.each([
    ['Dev', () => dev],
    ['Staging', () => staging],
    ['Prod', () => prod],
  ] as const)('THEN in %s the API integrates the live alias of the current version, never $LATEST', (_, of) => {
    const template = of();
    const alias = logicalIdOf(template, 'AWS::Lambda::Alias', 'ScoreAlias');
    const version = logicalIdOf(template, 'AWS::Lambda::Version', 'ScoreFunctionCurrentVersion');
    template.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      FunctionName: { Ref: logicalIdOf(template, 'AWS::Lambda::Function', 'ScoreFunction') },
      FunctionVersion: { 'Fn::GetAtt': [version, 'Version'] },
    });
    const uri = JSON.stringify(uriOf(template));
    expect(uri).toContain(`{"Ref":"${alias}"}`);
    expect(uri).not.toContain(logicalIdOf(template, 'AWS::Lambda::Function', 'ScoreFunction'));
  });

  test('THEN the API may invoke the alias (not the function) from its own score route only, naming the account', () => {
    for (const [template, env] of [
      [dev, environments.Dev],
      [prod, environments.Prod],
    ] as const) {
      const alias = logicalIdOf(template, 'AWS::Lambda::Alias', 'ScoreAlias');
      const fn = logicalIdOf(template, 'AWS::Lambda::Function', 'ScoreFunction');
      const permissions = (Object.values(template.findResources('AWS::Lambda::Permission')) as Resource[]).filter((p) =>
        JSON.stringify(p.Properties.FunctionName).match(new RegExp(`"(${alias}|${fn})"`)),
      );
      expect(permissions).toHaveLength(1);
      const [permission] = permissions as [Resource];
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        FunctionName: { Ref: alias },
        Principal: 'apigateway.amazonaws.com',
        SourceAccount: env.account,
      });
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain('/*/POST/v1/score');
    }
  });

  test('THEN dev has no provisioned concurrency and no scaling of it', () => {
    expect(environments.Dev.models['fraud-detector'].provisionedConcurrency).toBe(false);
    const alias = Object.values(dev.findResources('AWS::Lambda::Alias'))[0] as Resource;
    expect(alias.Properties.ProvisionedConcurrencyConfig).toBeUndefined();
    dev.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    dev.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
  });

  test.each([
    ['Staging', () => staging, environments.Staging.models['fraud-detector'].provisionedConcurrency],
    ['Prod', () => prod, environments.Prod.models['fraud-detector'].provisionedConcurrency],
  ] as const)(
    'THEN %s provisions the floor on the alias and tracks utilization between floor and ceiling',
    (_, of, pc) => {
      const template = of();
      if (!pc) throw new Error('staging and prod must have provisioned concurrency');
      const alias = logicalIdOf(template, 'AWS::Lambda::Alias', 'ScoreAlias');
      template.hasResourceProperties('AWS::Lambda::Alias', {
        ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: pc.min },
      });
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ServiceNamespace: 'lambda',
        ScalableDimension: 'lambda:function:ProvisionedConcurrency',
        MinCapacity: pc.min,
        MaxCapacity: pc.max,
      });
      const target = Object.entries(template.findResources('AWS::ApplicationAutoScaling::ScalableTarget'))[0] as [
        string,
        Resource,
      ];
      // The resource id names this alias (function:<name>:live), so scaling moves the alias's concurrency.
      expect(JSON.stringify(target[1].Properties.ResourceId)).toContain(`{"Ref":"${alias}"}`);
      expect(JSON.stringify(target[1].Properties.ResourceId)).toContain(':live');
      template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        ScalingTargetId: { Ref: target[0] },
        TargetTrackingScalingPolicyConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'LambdaProvisionedConcurrencyUtilization' },
          TargetValue: pc.targetUtilization,
        },
      });
    },
  );

  test('THEN prod provisions more than staging, and its ceiling leaves the 100 unreserved of the default quota', () => {
    const { Staging, Prod } = environments;
    if (
      !Staging.models['fraud-detector'].provisionedConcurrency ||
      !Prod.models['fraud-detector'].provisionedConcurrency
    )
      throw new Error('unset');
    expect(Prod.models['fraud-detector'].provisionedConcurrency.min).toBeGreaterThan(
      Staging.models['fraud-detector'].provisionedConcurrency.min,
    );
    expect(Prod.models['fraud-detector'].provisionedConcurrency.max).toBeLessThanOrEqual(1_000 - 100);
  });
});

describe('GIVEN the clients and their limits', () => {
  test('THEN each client has a Cognito client-credentials app client with exactly its scopes', () => {
    dev.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: 'aims',
      Scopes: Match.arrayWith([Match.objectLike({ ScopeName: 'score' }), Match.objectLike({ ScopeName: 'admin' })]),
    });
    const clients = Object.values(dev.findResources('AWS::Cognito::UserPoolClient')) as Resource[];
    expect(clients).toHaveLength(API_CLIENTS.length);
    for (const client of clients) {
      expect(client.Properties.AllowedOAuthFlows).toEqual(['client_credentials']);
      expect(client.Properties.GenerateSecret).toBe(true);
    }
    const scopeSets = clients.map((c) => JSON.stringify(c.Properties.AllowedOAuthScopes)).sort();
    expect(scopeSets.every((s) => s.includes('/'))).toBe(true);
  });

  test('THEN one usage plan carries the environment throttle and quota, with one API key per client', () => {
    for (const [template, env] of [
      [dev, environments.Dev],
      [prod, environments.Prod],
    ] as const) {
      template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        Throttle: { RateLimit: env.api.rateLimit, BurstLimit: env.api.burstLimit },
        Quota: { Limit: env.api.dailyQuota, Period: 'DAY' },
      });
      template.resourceCountIs('AWS::ApiGateway::ApiKey', API_CLIENTS.length);
      template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', API_CLIENTS.length);
    }
  });

  test('THEN a WAF web ACL with managed rules, a per-IP and a per-viewer rate limit guards the stage', () => {
    dev.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      Rules: Match.arrayWith([
        Match.objectLike({
          Statement: { ManagedRuleGroupStatement: Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet' }) },
        }),
        Match.objectLike({
          Statement: {
            RateBasedStatement: { Limit: environments.Dev.api.wafRateLimitPer5Min, AggregateKeyType: 'IP' },
          },
        }),
        // The console's people arrive from CloudFront's edges: counted per viewer (the first X-Forwarded-For address)
        // on what carries CloudFront's request id, beside the per-address count nobody can leave.
        Match.objectLike({
          Name: 'rate-limit-per-viewer',
          Statement: {
            RateBasedStatement: {
              Limit: environments.Dev.api.viewerRateLimitPer5Min,
              AggregateKeyType: 'FORWARDED_IP',
              ForwardedIPConfig: { HeaderName: 'X-Forwarded-For', FallbackBehavior: 'MATCH' },
              ScopeDownStatement: {
                SizeConstraintStatement: Match.objectLike({
                  FieldToMatch: { SingleHeader: { Name: 'x-amz-cf-id' } },
                  ComparisonOperator: 'GT',
                  Size: 0,
                }),
              },
            },
          },
        }),
      ]),
    });
    dev.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.anyValue(),
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiWebAcl'), 'Arn'] },
    });
  });
});

describe('GIVEN the stream consumer and the bus', () => {
  test('THEN the features function reads the stream with partial batch responses, bisection, bounded retries and a DLQ', () => {
    dev.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^FeaturesFunction') },
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 3,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: {
        OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FeaturesDeadLetterQueue'), 'Arn'] } },
      },
    });
  });

  test('THEN the outbox relays new decisions from the decisions stream: INSERT only, partial failures, bisection, no retry limit inside the stream’s day, a DLQ', () => {
    for (const template of [dev, staging, prod]) {
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        FunctionName: { Ref: Match.stringLikeRegexp('^OutboxFunction') },
        EventSourceArn: { 'Fn::GetStackOutput': Match.objectLike({ OutputName: Match.stringLikeRegexp('StreamArn') }) },
        StartingPosition: 'TRIM_HORIZON',
        FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
        BatchSize: 100,
        BisectBatchOnFunctionError: true,
        MaximumRetryAttempts: -1,
        MaximumRecordAgeInSeconds: 23 * 3600,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxDeadLetterQueue'), 'Arn'] } },
        },
      });
    }
    const mapping = Object.values(dev.findResources('AWS::Lambda::EventSourceMapping')).find((m) =>
      JSON.stringify(m.Properties.FunctionName).includes('OutboxFunction'),
    );
    expect(mapping?.Properties.MaximumBatchingWindowInSeconds).toBeUndefined();
    // The stream it reads is the decisions table's, exported by the data stack.
    const data = templateOf(stages.Dev.data).toJSON();
    const output = data.Outputs[mapping?.Properties.EventSourceArn['Fn::GetStackOutput'].OutputName];
    expect(output.Value).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^DecisionsTable/), 'StreamArn'],
    });
  });

  test('THEN the outbox reads the stream (and the data key), puts events on the bus and batches into the decision log, and the score function does neither', () => {
    const grants = (fnPrefix: string) => {
      const fnId = logicalIdOf(dev, 'AWS::Lambda::Function', `${fnPrefix}Function`);
      const roleId = (dev.toJSON().Resources[fnId].Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      return (Object.values(dev.findResources('AWS::IAM::Policy')) as Resource[])
        .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
        .flatMap((p) => (p.Properties.PolicyDocument as { Statement: JsonTree[] }).Statement);
    };
    const outbox = JSON.stringify(grants('Outbox'));
    expect(grants('Outbox')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator'],
          Resource: {
            'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/StreamArn/) }),
          },
        }),
        expect.objectContaining({ Action: expect.arrayContaining(['dynamodb:ListStreams']), Resource: '*' }),
        expect.objectContaining({ Action: 'events:PutEvents' }),
        expect.objectContaining({
          Action: 'firehose:PutRecordBatch',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^DecisionLogStream/), 'Arn'] },
        }),
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^OutboxDeadLetterQueue/), 'Arn'] },
        }),
        // Review items beside the audit records (opened, override heads moved): writes, hence GenerateDataKey.
        expect.objectContaining({
          Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
          Resource: {
            'Fn::GetStackOutput': expect.objectContaining({
              OutputName: expect.stringMatching(/DecisionsTable\w*Arn/),
            }),
          },
        }),
        expect.objectContaining({ Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
      ]),
    );
    expect(outbox).toMatch(/DataKey/);
    const score = JSON.stringify(grants('Score'));
    expect(score).not.toMatch(/events:PutEvents|firehose:/);
  });

  test('THEN the score function no longer knows the bus or the decision log, and the outbox does', () => {
    const env = (fnPrefix: string) =>
      (dev.toJSON().Resources[logicalIdOf(dev, 'AWS::Lambda::Function', `${fnPrefix}Function`)].Properties.Environment
        .Variables ?? {}) as Record<string, unknown>;
    expect(Object.keys(env('Score'))).not.toEqual(expect.arrayContaining(['EVENT_BUS_NAME']));
    expect(Object.keys(env('Score'))).not.toContain('DECISION_LOG_STREAM');
    expect(Object.keys(env('Outbox'))).toEqual(expect.arrayContaining(['EVENT_BUS_NAME', 'DECISION_LOG_STREAM']));
  });

  test('THEN the model timeout is per environment: production-sized in staging and prod, looser for the local stage', () => {
    const timeout = (t: Template) =>
      t.toJSON().Resources[logicalIdOf(t, 'AWS::Lambda::Function', 'ScoreFunction')].Properties.Environment.Variables
        .MODEL_TIMEOUT_MS;
    expect(timeout(staging)).toBe(String(environments.Staging.models['fraud-detector'].modelTimeoutMs));
    expect(timeout(prod)).toBe(String(environments.Prod.models['fraud-detector'].modelTimeoutMs));
    expect(timeout(dev)).toBe(String(environments.Dev.models['fraud-detector'].modelTimeoutMs));
    expect(environments.Prod.models['fraud-detector'].modelTimeoutMs).toBeLessThanOrEqual(30);
  });

  test('THEN bus rules route the public events and alerts, each target with retries and a DLQ', () => {
    const expectRule = (pattern: Record<string, unknown>, fnPrefix: string) =>
      dev.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: pattern,
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${fnPrefix}Function`), 'Arn'] },
            RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EventsDeadLetterQueue'), 'Arn'] } },
          }),
        ],
      });
    expectRule({ 'detail-type': [DETAIL_TYPES.TransactionSubmitted] }, 'IngestEvents');
    expectRule(
      { 'detail-type': [DETAIL_TYPES.LabelReported], source: [{ 'anything-but': 'aims.feedback' }] },
      'FeedbackEvents',
    );
    expectRule({ source: ['aims.score'], 'detail-type': [DETAIL_TYPES.FraudSuspected] }, 'Alerts');
  });

  test('THEN every event schema is registered as JSON Schema draft 4', () => {
    const schemas = Object.values(dev.findResources('AWS::EventSchemas::Schema')) as Resource[];
    expect(schemas.map((s) => JSON.parse(s.Properties.Content as string).title).sort()).toEqual(
      Object.keys(DETAIL_TYPES)
        .map((t) => `${t}Event`)
        .sort(),
    );
    for (const schema of schemas) expect(schema.Properties.Type).toBe('JSONSchemaDraft4');
  });

  test('THEN the decision log is a KMS-encrypted Firehose stream into the decisions prefix of the lake', () => {
    dev.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'CUSTOMER_MANAGED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: 'decisions/dt=!{timestamp:yyyy-MM-dd}/',
        CompressionFormat: 'GZIP',
      }),
    });
  });
});

describe('GIVEN least privilege per function', () => {
  const expected: Record<string, string[]> = {
    Score: [
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sagemaker:InvokeEndpoint',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Ingest: [
      'kinesis:PutRecords',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Outbox: [
      'dynamodb:DescribeStream',
      'dynamodb:GetRecords',
      'dynamodb:GetShardIterator',
      'dynamodb:ListStreams',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'events:PutEvents',
      'firehose:PutRecordBatch',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Decisions: [
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:Query',
      'kms:Decrypt',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Review: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Health: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    Authorizer: ['apigateway:GET', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    Alerts: [
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'kms:Decrypt',
      'kms:GenerateDataKey',
      'sns:Publish',
      // Lambda sends what it gives up on (an EventBridge event) to the events DLQ with the function's role.
      'sqs:SendMessage',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
    Models: [
      'cloudformation:DescribeStacks',
      'cloudformation:UpdateStack',
      'dynamodb:GetItem',
      'kms:Decrypt',
      's3:GetObject',
      's3:ListBucket',
      'sagemaker:DescribeModelPackage',
      'sagemaker:ListModelPackages',
      'sagemaker:UpdateModelPackage',
      'ssm:GetParameter',
      'ssm:PutParameter',
      'states:DescribeExecution',
      'states:GetExecutionHistory',
      'states:ListExecutions',
      'states:SendTaskFailure',
      'states:SendTaskSuccess',
      'states:StartExecution',
      'xray:PutTelemetryRecords',
      'xray:PutTraceSegments',
    ],
  };
  test.each(Object.keys(expected))('THEN %s may do exactly what its code calls', (fn) => {
    const actions = actionsOf(dev, fn).filter((a) => !a.startsWith('logs:'));
    expect(actions).toEqual(expected[fn]);
  });

  test('THEN no function role carries an AWS managed policy, and only X-Ray, ListModelPackages and ListStreams use Resource "*"', () => {
    const functionRoles = (Object.values(dev.findResources('AWS::IAM::Role')) as Resource[]).filter((role) =>
      JSON.stringify(role.Properties.AssumeRolePolicyDocument).includes('lambda.amazonaws.com'),
    );
    expect(functionRoles.length).toBeGreaterThan(5);
    for (const role of functionRoles) {
      const managed = JSON.stringify(role.Properties.ManagedPolicyArns ?? []);
      expect(managed).not.toContain('iam::aws:policy');
    }
    for (const policy of Object.values(dev.findResources('AWS::IAM::Policy')) as Resource[]) {
      const doc = policy.Properties.PolicyDocument as {
        Statement: Array<{ Action: string | string[]; Resource: unknown }>;
      };
      for (const statement of doc.Statement) {
        if (statement.Resource === '*')
          // ListModelPackages and ListStreams have no resource-level permissions (the models API describes each package
          // it lists; the outbox reads one stream, named by its other grants).
          expect(
            [statement.Action]
              .flat()
              .every(
                (a) => a.startsWith('xray:') || a === 'sagemaker:ListModelPackages' || a === 'dynamodb:ListStreams',
              ),
          ).toBe(true);
      }
    }
  });

  test('THEN the score function may invoke only its model endpoint (and its component where it idles), named from stage and model', () => {
    for (const [template, resource] of [
      [
        dev,
        [
          'arn:aws:sagemaker:eu-west-1:111111111111:endpoint/aims-dev-fraud-detector',
          'arn:aws:sagemaker:eu-west-1:111111111111:inference-component/aims-dev-fraud-detector-champion',
        ],
      ],
      [
        staging,
        [
          'arn:aws:sagemaker:eu-west-1:222222222222:endpoint/aims-staging-fraud-detector',
          'arn:aws:sagemaker:eu-west-1:222222222222:inference-component/aims-staging-fraud-detector-champion',
        ],
      ],
      [prod, 'arn:aws:sagemaker:eu-west-1:333333333333:endpoint/aims-prod-fraud-detector'],
    ] as const) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([Match.objectLike({ Action: 'sagemaker:InvokeEndpoint', Resource: resource })]),
        },
      });
    }
  });
});

describe('GIVEN the models API', () => {
  const body = apiBody(dev);
  const modelsFn = logicalIdOf(dev, 'AWS::Lambda::Function', 'ModelsFunction');
  const statements = (template: Template) =>
    (Object.values(template.findResources('AWS::IAM::Policy')) as Resource[]).flatMap(
      (p) =>
        (p.Properties.PolicyDocument as { Statement: Array<{ Action: string | string[]; Resource: unknown }> })
          .Statement,
    );
  const resourcesOf = (template: Template, action: string) =>
    statements(template)
      .filter((s) => [s.Action].flat().includes(action))
      .flatMap((s) => [s.Resource].flat());

  test('THEN every /v1/models route needs the admin scope (the reads analysts use: read) and is integrated with the models function', () => {
    const READ = [
      'GET /v1/models',
      'GET /v1/models/{name}',
      'GET /v1/models/{name}/drift',
      'GET /v1/models/{name}/predictions',
    ];
    const isRead = (r: RouteDefinition) => READ.includes(`${r.method.toUpperCase()} ${r.path}`);
    const reads = (ROUTES as readonly RouteDefinition[]).filter(isRead);
    expect(reads.map((r) => [r.path, r.scope, r.service]).sort()).toEqual([
      ['/v1/models', 'aims/read', 'models'],
      ['/v1/models/{name}', 'aims/read', 'models'],
      ['/v1/models/{name}/drift', 'aims/read', 'models'],
      ['/v1/models/{name}/predictions', 'aims/read', 'models'],
    ]);
    const routes = (ROUTES as readonly RouteDefinition[]).filter((r) => r.path.startsWith('/v1/models') && !isRead(r));
    expect(routes.map((r) => `${r.method.toUpperCase()} ${r.path}`).sort()).toEqual([
      'POST /v1/models/{name}/retrain',
      'POST /v1/models/{name}/rollback',
      'POST /v1/models/{name}/versions/{version}/approve',
      'POST /v1/models/{name}/versions/{version}/reject',
    ]);
    for (const route of routes) {
      expect(route).toMatchObject({ scope: 'aims/admin', service: 'models' });
      const integration = body.paths[route.path][route.method]['x-amazon-apigateway-integration'];
      expect(JSON.stringify(integration.uri)).toContain(modelsFn);
      expect(body.paths[route.path][route.method].security).toEqual([{ oauth2: [], api_key: [] }]);
    }
  });

  test('THEN the function is configured with each model, the approval mode, the lock table, the models stack and the drift bucket', () => {
    const fn = dev.toJSON().Resources[modelsFn] as Resource;
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(env.MODELS_APPROVAL).toBe(environments.Dev.lifecycle.approval);
    expect(env.MODELS_STACK_NAME).toBe('Dev-Models');
    const models = JSON.stringify(env.MODELS);
    for (const part of [
      // The bootstrap card's version: the champion's version while the pointer says bootstrap.
      bootstrapVersion({
        dir: join(PROJECT_ROOT, 'models', 'fraud-detector'),
        manifest: { name: 'fraud-detector' },
      } as ModelDeclaration),
      'aims-dev-fraud-detector',
      'frauddetectorRegistryChampionPointer',
      'frauddetectorWorkflowStateMachine',
    ]) {
      expect(models).toContain(part);
    }
    expect(JSON.stringify(env.LOCK_TABLE_NAME)).toContain('LockTable');
    expect(JSON.stringify(env.DRIFT_STATUS_BUCKET)).toContain('MonitoringBucket');
    expect(
      prod.toJSON().Resources[logicalIdOf(prod, 'AWS::Lambda::Function', 'ModelsFunction')].Properties.Environment
        .Variables.MODELS_APPROVAL,
    ).toBe('manual');
  });

  test('THEN its grants name the exact state machines, package group, pointer, models stack and objects', () => {
    expect(JSON.stringify(resourcesOf(dev, 'states:StartExecution'))).toMatch(/frauddetectorWorkflowStateMachine/);
    expect(resourcesOf(dev, 'states:DescribeExecution')).toEqual(['arn:aws:states:eu-west-1:111111111111:execution:*']);
    // One package group per served model, named exactly.
    expect(resourcesOf(dev, 'sagemaker:UpdateModelPackage')).toEqual(
      Object.keys(environments.Dev.models).map(
        (m) => `arn:aws:sagemaker:eu-west-1:111111111111:model-package/aims-dev-${m}/*`,
      ),
    );
    // The pointer is the registry's parameter object (a reference to the retraining stack), not a name built here.
    const pointer = JSON.stringify(resourcesOf(dev, 'ssm:PutParameter'));
    expect(pointer).toContain('arn:aws:ssm:eu-west-1:111111111111:parameter');
    expect(pointer).toMatch(/"StackName":"Dev-Retraining".*frauddetectorRegistryChampionPointer/);
    expect(resourcesOf(dev, 'cloudformation:UpdateStack')).toEqual([
      'arn:aws:cloudformation:eu-west-1:111111111111:stack/Dev-Models/*',
    ]);
    const objects = JSON.stringify(resourcesOf(dev, 's3:GetObject'));
    expect(objects).toContain('/models/fraud-detector/versions/*/metrics.json');
    expect(objects).toContain('/drift-status/fraud-detector/latest.json');
    expect(statements(dev).some((s) => [s.Action].flat().includes('iam:PassRole'))).toBe(false);
  });
});

describe('GIVEN the functions that call a model endpoint', () => {
  const callers = (template: Template) =>
    Object.values(
      template.findResources('AWS::Lambda::Function', {
        Metadata: { 'aims:role': Match.stringLikeRegexp('^(score|predict)$') },
      }),
    ) as Array<{
      Metadata: Record<string, string>;
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }>;

  test('WHEN the endpoint idles to zero (dev, staging) THEN each names its model’s inference component, and may invoke only it', () => {
    for (const [stage, template] of [
      ['Dev', dev],
      ['Staging', staging],
    ] as const) {
      const found = callers(template);
      expect(found.length).toBeGreaterThanOrEqual(Object.keys(environments[stage].models).length);
      for (const fn of found) {
        const endpoint = modelEndpointName(stage, fn.Metadata['aims:model'] as string);
        expect(fn.Properties.Environment.Variables).toMatchObject({
          MODEL_ENDPOINT_NAME: endpoint,
          MODEL_INFERENCE_COMPONENT: inferenceComponentName(endpoint),
        });
      }
      const invoke = JSON.stringify(
        Object.values(template.findResources('AWS::IAM::Policy'))
          .flatMap((p: JsonTree) => p.Properties.PolicyDocument.Statement)
          .filter((s: JsonTree) => [s.Action].flat().includes('sagemaker:InvokeEndpoint')),
      );
      for (const model of Object.keys(environments[stage].models)) {
        expect(invoke).toContain(`:inference-component/${inferenceComponentName(modelEndpointName(stage, model))}`);
      }
    }
  });

  test('WHEN the endpoint is always on (prod) THEN none names a component', () => {
    for (const template of [prod]) {
      for (const fn of callers(template)) {
        expect(fn.Properties.Environment.Variables.MODEL_INFERENCE_COMPONENT).toBeUndefined();
      }
    }
  });
});
