// The public REST API: imported from the contract's OpenAPI document, guarded by the JWT authorizer, usage plans
// with an API key per client (the authorizer supplies it), a WAF web ACL, access logs and X-Ray.
import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  ApiDefinition,
  EndpointType,
  LogGroupLogDestination,
  MethodLoggingLevel,
  Period,
  SpecRestApi,
  UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import type { IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { z } from 'zod';
import { apiRoutes, type RouteDefinition } from '../../lambdas/shared/contracts/api.js';
import { openApiDocument30 } from '../../lambdas/shared/contracts/openapi.js';
import { apiGatewayDefinition } from './api-gateway-definition.js';
import { ClientApiKey } from './client-api-key.js';
import { baselineRules, CLOUDFRONT_REQUEST_ID_HEADER, rateRule, THROTTLED_RESPONSE_BODIES } from './web-acl-rules.js';

/** The services of the fixed route table; each model's predict and labels routes have their own functions. */
export type RouteService = Exclude<RouteDefinition['service'], 'predict' | 'labels'>;

/** A real-time model's predict route: its request schema (rendered into the document) and its function. */
export interface PredictRouteHandler {
  readonly request: z.ZodType;
  /** A function or an alias of one, as for `handlers`. */
  readonly handler: IFunction;
}

/** A labelled model's labels route: its label schema (rendered into the document) and its function. */
export interface LabelsRouteHandler {
  readonly label: z.ZodType;
  /** What the label is about and what its outcome means, for the route's summary. */
  readonly about: { readonly entity: string; readonly outcome: string };
  readonly handler: IFunction;
}

export interface ScoringApiProps {
  /** The function serving each service named in the route table: a function, or an alias of one (the integration
   *  URI and the invoke permissions then name the alias ARN, so requests land on its provisioned environments). */
  readonly handlers: Readonly<Record<RouteService, IFunction>>;
  /** The real-time models, by name: each gets POST /v1/models/<name>/predict and its scope. @default - none */
  readonly predict?: Readonly<Record<string, PredictRouteHandler>>;
  /** The models with entity-level labels, by name: each gets POST /v1/models/<name>/labels. @default - none */
  readonly labels?: Readonly<Record<string, LabelsRouteHandler>>;
  /** The REQUEST authorizer (JWT + scope per route). */
  readonly authorizer: IFunction;
  /** The API's app clients by name; each gets an API key on the usage plan whose CustomerId is its client id. */
  readonly clients: Readonly<Record<string, IUserPoolClient>>;
  /** OAuth2 token URL shown in the OpenAPI document. */
  readonly tokenUrl: string;
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly dailyQuota: number;
  /** Requests per 5 minutes from one IP before WAF blocks it. */
  readonly wafRateLimitPer5Min: number;
  /** Requests per 5 minutes from one viewer of the console (the first X-Forwarded-For address of what CloudFront
   *  forwards) before WAF blocks it. */
  readonly viewerRateLimitPer5Min: number;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /** How long an authorizer decision is cached. @default 300 */
  readonly authorizerCacheSeconds?: number;
  /** The stage name in the URL. @default 'v1' is in the paths already, so 'api' */
  readonly stageName?: string;
}

export class ScoringApi extends Construct {
  public readonly api: SpecRestApi;
  public readonly usagePlan: UsagePlan;
  public readonly apiKeys: Readonly<Record<string, ClientApiKey>>;
  public readonly webAcl: CfnWebACL;
  public readonly accessLogs: LogGroup;
  /** The group API Gateway writes execution logs to (it names it; we set its retention and removal). */
  public readonly executionLogs: LogGroup;

  constructor(scope: Construct, id: string, props: ScoringApiProps) {
    super(scope, id);
    const predict = props.predict ?? {};
    const models = Object.entries(predict).map(([name, p]) => ({ name, request: p.request }));
    const labels = props.labels ?? {};
    const labelled = Object.entries(labels).map(([name, l]) => ({ name, label: l.label, about: l.about }));
    const routes = apiRoutes(models, labelled);
    const handlerOf = (route: RouteDefinition): IFunction => {
      const fn =
        route.service === 'predict'
          ? predict[route.model ?? '']?.handler
          : route.service === 'labels'
            ? labels[route.model ?? '']?.handler
            : props.handlers[route.service];
      if (!fn) throw new Error(`handlers must include '${route.model ?? route.service}', which a route needs`);
      return fn;
    };
    for (const route of routes) handlerOf(route);
    const clientNames = Object.keys(props.clients);
    if (clientNames.length === 0) throw new Error('clients must name at least one API client');
    const stack = Stack.of(this);
    const invokeUri = (fn: IFunction) =>
      stack.formatArn({
        service: 'apigateway',
        account: 'lambda',
        resource: 'path/2015-03-31/functions',
        resourceName: `${fn.functionArn}/invocations`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });

    const stageName = props.stageName ?? 'api';
    const document = openApiDocument30({ tokenUrl: props.tokenUrl, models, labelled }) as unknown as Record<
      string,
      unknown
    >;
    const definition = apiGatewayDefinition(document, {
      routes,
      integrationUri: (route) => invokeUri(handlerOf(route)),
      authorizerUri: invokeUri(props.authorizer),
      authorizerCacheSeconds: props.authorizerCacheSeconds ?? 300,
    });

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.api = new SpecRestApi(this, 'Api', {
      apiDefinition: ApiDefinition.fromInline(definition),
      description: 'AIMS fraud scoring API',
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logging needs the account's API Gateway CloudWatch role (AWS::ApiGateway::Account). Each stage has
      // its own account and one REST API, so this stack sets it; the role is retained so that removing the stack
      // never breaks logging of another API in the account that relies on the same setting.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName,
        tracingEnabled: true,
        metricsEnabled: true,
        // Errors only: INFO would log request metadata of every call; bodies never (dataTraceEnabled false).
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: props.rateLimit * Math.max(1, clientNames.length),
        throttlingBurstLimit: props.burstLimit * Math.max(1, clientNames.length),
        accessLogDestination: new LogGroupLogDestination(this.accessLogs),
        accessLogFormat: AccessLogFormat.jsonWithStandardFields({
          caller: false,
          httpMethod: true,
          ip: true,
          protocol: true,
          requestTime: true,
          resourcePath: true,
          responseLength: true,
          status: true,
          user: false,
        }),
      },
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Validation is on: the imported definition sets x-amazon-apigateway-request-validator (body and params); nag reads only RequestValidator resources.',
    });
    // API Gateway creates this group on first use, never expiring and outside the stack: create it first, by the
    // name API Gateway uses, so retention and removal follow the environment like every other log group.
    this.executionLogs = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${stageName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    this.api.deploymentStage.node.addDependency(this.executionLogs);
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide role API Gateway uses for every API and stage of the account: it must reach log groups API Gateway names itself.',
      });
    }
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'False positive: the WAFv2 web ACL is associated through CfnWebACLAssociation, which nag does not follow.',
    });

    for (const route of routes) {
      handlerOf(route).addPermission(`Invoke${route.operationId}`, {
        principal: new ServicePrincipal('apigateway.amazonaws.com'),
        // SourceAccount beside SourceArn: a literal the Control Tower rule (CT.LAMBDA.PR.2) can read.
        sourceAccount: stack.account,
        sourceArn: this.api.arnForExecuteApi(route.method.toUpperCase(), route.path.replace(/\{[^}]+\}/g, '*')),
      });
    }
    props.authorizer.addPermission('InvokeAuthorizer', {
      principal: new ServicePrincipal('apigateway.amazonaws.com'),
      sourceAccount: stack.account,
      sourceArn: stack.formatArn({
        service: 'execute-api',
        resource: this.api.restApiId,
        resourceName: 'authorizers/*',
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    });

    this.usagePlan = new UsagePlan(this, 'UsagePlan', {
      description: 'Per-client throttle and daily quota',
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      quota: { limit: props.dailyQuota, period: Period.DAY },
      apiStages: [{ api: this.api, stage: this.api.deploymentStage }],
    });
    const keys: Record<string, ClientApiKey> = {};
    for (const [name, client] of Object.entries(props.clients)) {
      keys[name] = new ClientApiKey(this, `Key-${name}`, {
        client,
        usagePlan: this.usagePlan,
        description: `API key of client ${name}`,
      });
    }
    this.apiKeys = keys;

    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      customResponseBodies: THROTTLED_RESPONSE_BODIES,
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'aims-api', sampledRequestsEnabled: true },
      rules: [
        ...baselineRules([
          // A full ingest batch (500 transactions) is larger than the rule's 8 KB body limit; the API validates size.
          { name: 'SizeRestrictions_BODY', actionToUse: { count: {} } },
        ]),
        // Every caller, by the address that connects: machine clients directly, the console's people via CloudFront's
        // edges (many viewers per edge address, hence the high limit).
        rateRule({ name: 'rate-limit-per-ip', priority: 3, limitPer5Min: props.wafRateLimitPer5Min }),
        // What CloudFront forwards, by the viewer it forwarded for: the first X-Forwarded-For address. A caller can
        // forge both headers, but then only picks this count in addition to the one above, which it cannot leave.
        rateRule({
          name: 'rate-limit-per-viewer',
          priority: 4,
          limitPer5Min: props.viewerRateLimitPer5Min,
          forwardedIpHeader: 'X-Forwarded-For',
          onlyWithHeader: CLOUDFRONT_REQUEST_ID_HEADER,
        }),
      ],
    });
    new CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
