// Reads what the API Gateway emulator needs from the resolved template: routes, authorizers, keys, plans, pools.
import type { LocalResource, LocalTemplate } from '../types.js';

/** OpenAPI 3.0 document as API Gateway imports it (only the parts the emulator reads are typed). */
export interface OpenApiBody {
  readonly openapi?: string;
  readonly info?: { readonly title?: string; readonly version?: string };
  readonly paths?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components?: {
    readonly schemas?: Readonly<Record<string, unknown>>;
    readonly securitySchemes?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  };
  readonly [key: string]: unknown;
}

export interface ParameterSpec {
  readonly name: string;
  readonly in: 'path' | 'query' | 'header';
  readonly required: boolean;
}

export interface RequestValidatorSpec {
  readonly validateRequestBody: boolean;
  readonly validateRequestParameters: boolean;
}

export interface AuthorizerSpec {
  readonly name: string;
  readonly type: 'request' | 'token';
  /** The authorizer function's ARN, from `authorizerUri`. */
  readonly functionArn: string;
  /** `method.request.header.X`, `method.request.querystring.x`, `context.httpMethod`… in order. */
  readonly identitySource: readonly string[];
  readonly ttlSeconds: number;
}

export interface OperationSpec {
  readonly method: string;
  /** The resource path template, e.g. `/v1/decisions/{id}`. */
  readonly resourcePath: string;
  readonly operationId?: string;
  /** Function ARN of the `aws_proxy` integration. */
  readonly functionArn: string;
  readonly authorizer?: AuthorizerSpec;
  readonly apiKeyRequired: boolean;
  readonly validator?: RequestValidatorSpec;
  readonly parameters: readonly ParameterSpec[];
  /** Request body schemas by media type, as written in the body (OpenAPI 3.0, may hold `$ref`). */
  readonly bodySchemas: Readonly<Record<string, unknown>>;
  readonly bodyRequired: boolean;
}

export interface GatewayResponseSpec {
  readonly statusCode?: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly templates: Readonly<Record<string, string>>;
}

export interface UsagePlanSpec {
  readonly id: string;
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly quota?: { readonly limit: number; readonly period: 'DAY' | 'WEEK' | 'MONTH'; readonly offset: number };
}

export interface ApiKeySpec {
  /** `<stack>/<logicalId>`: where its generated value is kept. */
  readonly key: string;
  readonly id: string;
  readonly enabled: boolean;
  /** A value fixed by the template (`Value`), else generated locally. */
  readonly value?: string;
  /** The client this key belongs to, when the template says (Name, or "… client <name>" in the description). */
  readonly clientName?: string;
  /** `CustomerId`: the app client id whose key this is (what the authorizer looks keys up by). */
  readonly customerId?: string;
  readonly usagePlanIds: readonly string[];
}

export interface UserPoolClientSpec {
  readonly clientId: string;
  readonly name: string;
  readonly poolRef: string;
  readonly scopes: readonly string[];
  readonly flows: readonly string[];
  /** Access-token lifetime in seconds (id tokens live as long). */
  readonly accessTokenSeconds: number;
  /** Refresh-token lifetime in seconds. */
  readonly refreshTokenSeconds: number;
  /** False for a public client (a browser app): no secret, PKCE instead. */
  readonly generateSecret: boolean;
  /** `CallbackURLs` / `LogoutURLs` as the template resolves them (see `LocalIssuer` for the local mapping). */
  readonly callbackUrls: readonly string[];
  readonly logoutUrls: readonly string[];
}

export interface UserPoolGroupSpec {
  readonly poolRef: string;
  readonly name: string;
}

export interface RestApiDefinition {
  readonly apiId: string;
  readonly stageName: string;
  readonly region: string;
  readonly account: string;
  readonly body: OpenApiBody;
  readonly operations: readonly OperationSpec[];
  readonly gatewayResponses: Readonly<Record<string, GatewayResponseSpec>>;
  readonly apiKeySource: 'HEADER' | 'AUTHORIZER';
  /** The stage's `MethodSettings` throttle for `/*` `*`, when set. */
  readonly stageThrottle?: { readonly rateLimit: number; readonly burstLimit: number };
  readonly apiKeys: readonly ApiKeySpec[];
  readonly usagePlans: readonly UsagePlanSpec[];
  readonly userPools: readonly string[];
  /** Every app client of the stage, whichever stack holds it (the console's client lives in the console stack). */
  readonly clients: readonly UserPoolClientSpec[];
  readonly groups: readonly UserPoolGroupSpec[];
  /** Domain names of the stage's CloudFront distributions: a callback URL on one of them is the console's. */
  readonly distributionDomains: readonly string[];
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch']);
const ANY_METHOD = 'x-amazon-apigateway-any-method';

export class ApiDefinitionError extends Error {
  override readonly name = 'ApiDefinitionError';
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function where(r: LocalResource): string {
  return `${r.stackName}/${r.logicalId} (${r.type})`;
}

/** `arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function arn>/invocations` → the function ARN. */
export function functionArnOfUri(uri: unknown, context: string): string {
  if (typeof uri !== 'string') throw new ApiDefinitionError(`${context}: the integration uri is not a string`);
  const m = /:lambda:path\/\d{4}-\d{2}-\d{2}\/functions\/(.+)\/invocations$/.exec(uri);
  if (!m?.[1]) throw new ApiDefinitionError(`${context}: '${uri}' is not a Lambda invocation uri`);
  return m[1];
}

function authorizersOf(body: OpenApiBody, region: string): Map<string, AuthorizerSpec> {
  const out = new Map<string, AuthorizerSpec>();
  for (const [name, scheme] of Object.entries(body.components?.securitySchemes ?? {})) {
    const auth = scheme['x-amazon-apigateway-authorizer'];
    if (!isRecord(auth)) continue;
    const type = String(auth.type ?? 'token').toLowerCase();
    if (type !== 'request' && type !== 'token') {
      throw new ApiDefinitionError(`security scheme '${name}': authorizer type '${type}' is not emulated locally`);
    }
    const identity =
      typeof auth.identitySource === 'string'
        ? auth.identitySource
        : type === 'token'
          ? `method.request.header.${String(scheme.name ?? 'Authorization')}`
          : '';
    out.set(name, {
      name,
      type,
      functionArn: functionArnOfUri(auth.authorizerUri, `security scheme '${name}' (${region})`),
      identitySource: identity
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
      ttlSeconds: typeof auth.authorizerResultTtlInSeconds === 'number' ? auth.authorizerResultTtlInSeconds : 300,
    });
  }
  return out;
}

function operationsOf(body: OpenApiBody, authorizers: Map<string, AuthorizerSpec>, region: string): OperationSpec[] {
  const validators = isRecord(body['x-amazon-apigateway-request-validators'])
    ? (body['x-amazon-apigateway-request-validators'] as Record<string, unknown>)
    : {};
  const validatorNamed = (name: unknown, context: string): RequestValidatorSpec | undefined => {
    if (name === undefined) return undefined;
    const v = validators[String(name)];
    if (!isRecord(v)) throw new ApiDefinitionError(`${context}: request validator '${String(name)}' is not defined`);
    return {
      validateRequestBody: v.validateRequestBody === true,
      validateRequestParameters: v.validateRequestParameters === true,
    };
  };
  const apiValidator = validatorNamed(body['x-amazon-apigateway-request-validator'], 'api');
  const schemes = body.components?.securitySchemes ?? {};
  const topSecurity = Array.isArray(body.security) ? body.security : [];
  const ops: OperationSpec[] = [];
  for (const [resourcePath, item] of Object.entries(body.paths ?? {})) {
    const pathParams = Array.isArray(item.parameters) ? item.parameters : [];
    for (const [key, raw] of Object.entries(item)) {
      const method = key === ANY_METHOD ? 'ANY' : key.toUpperCase();
      if (key !== ANY_METHOD && !HTTP_METHODS.has(key)) continue;
      if (!isRecord(raw)) continue;
      const context = `${method} ${resourcePath}`;
      const integration = raw['x-amazon-apigateway-integration'];
      if (!isRecord(integration)) throw new ApiDefinitionError(`${context}: no x-amazon-apigateway-integration`);
      if (integration.type !== 'aws_proxy') {
        throw new ApiDefinitionError(`${context}: integration type '${String(integration.type)}' is not emulated`);
      }
      const security = (Array.isArray(raw.security) ? raw.security : topSecurity) as unknown[];
      let authorizer: AuthorizerSpec | undefined;
      let apiKeyRequired = false;
      for (const requirement of security) {
        if (!isRecord(requirement)) continue;
        for (const schemeName of Object.keys(requirement)) {
          const scheme = schemes[schemeName];
          if (!scheme) throw new ApiDefinitionError(`${context}: security scheme '${schemeName}' is not defined`);
          const a = authorizers.get(schemeName);
          if (a) authorizer = a;
          else if (scheme.type === 'apiKey') apiKeyRequired = true;
        }
      }
      const parameters: ParameterSpec[] = [];
      for (const p of [...pathParams, ...(Array.isArray(raw.parameters) ? raw.parameters : [])]) {
        if (!isRecord(p) || typeof p.name !== 'string') continue;
        if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') continue;
        parameters.push({ name: p.name, in: p.in, required: p.required === true || p.in === 'path' });
      }
      const requestBody = isRecord(raw.requestBody) ? raw.requestBody : undefined;
      const bodySchemas: Record<string, unknown> = {};
      if (requestBody && isRecord(requestBody.content)) {
        for (const [mediaType, media] of Object.entries(requestBody.content)) {
          if (isRecord(media) && media.schema !== undefined) bodySchemas[mediaType.toLowerCase()] = media.schema;
        }
      }
      const validator = validatorNamed(raw['x-amazon-apigateway-request-validator'], context) ?? apiValidator;
      ops.push({
        method,
        resourcePath,
        ...(typeof raw.operationId === 'string' ? { operationId: raw.operationId } : {}),
        functionArn: functionArnOfUri(integration.uri, `${context} (${region})`),
        ...(authorizer ? { authorizer } : {}),
        apiKeyRequired,
        ...(validator ? { validator } : {}),
        parameters,
        bodySchemas,
        bodyRequired: requestBody?.required === true,
      });
    }
  }
  return ops;
}

function gatewayResponsesOf(body: OpenApiBody): Record<string, GatewayResponseSpec> {
  const out: Record<string, GatewayResponseSpec> = {};
  const raw = body['x-amazon-apigateway-gateway-responses'];
  if (!isRecord(raw)) return out;
  for (const [type, spec] of Object.entries(raw)) {
    if (!isRecord(spec)) continue;
    const headers: Record<string, string> = {};
    if (isRecord(spec.responseParameters)) {
      for (const [k, v] of Object.entries(spec.responseParameters)) {
        const m = /^gatewayresponse\.header\.(.+)$/.exec(k);
        // Only static values ('quoted') can be rendered without a request mapping context.
        if (m?.[1] && typeof v === 'string' && /^'.*'$/.test(v)) headers[m[1]] = v.slice(1, -1);
      }
    }
    const templates: Record<string, string> = {};
    if (isRecord(spec.responseTemplates)) {
      for (const [k, v] of Object.entries(spec.responseTemplates)) if (typeof v === 'string') templates[k] = v;
    }
    out[type] = {
      ...(spec.statusCode !== undefined ? { statusCode: Number(spec.statusCode) } : {}),
      headers,
      templates,
    };
  }
  return out;
}

function throttleOf(v: unknown): { rateLimit: number; burstLimit: number } | undefined {
  if (!isRecord(v) || typeof v.RateLimit !== 'number' || typeof v.BurstLimit !== 'number') return undefined;
  return { rateLimit: v.RateLimit, burstLimit: v.BurstLimit };
}

/** Everything the emulator serves, from the template's single `AWS::ApiGateway::RestApi` with an OpenAPI Body. */
export function restApiDefinition(template: LocalTemplate): RestApiDefinition {
  const apis = template.ofType('AWS::ApiGateway::RestApi');
  const api = apis[0];
  if (!api || apis.length > 1) {
    throw new ApiDefinitionError(
      `the local API expects exactly one AWS::ApiGateway::RestApi in stage ${template.stageName}, found ${apis.length}`,
    );
  }
  const body = api.properties.Body;
  if (!isRecord(body) || !isRecord(body.paths)) {
    throw new ApiDefinitionError(`${where(api)}: Body must be an inline OpenAPI document with paths`);
  }
  const openApi = body as OpenApiBody;
  const authorizers = authorizersOf(openApi, template.region);
  const stage = template.ofType('AWS::ApiGateway::Stage').find((s) => s.properties.RestApiId === api.ref);
  const stageName = typeof stage?.properties.StageName === 'string' ? stage.properties.StageName : 'prod';
  const methodSettings = Array.isArray(stage?.properties.MethodSettings) ? stage.properties.MethodSettings : [];
  const all = methodSettings.find((m) => isRecord(m) && m.ResourcePath === '/*' && m.HttpMethod === '*');
  const stageThrottle =
    isRecord(all) && typeof all.ThrottlingRateLimit === 'number' && typeof all.ThrottlingBurstLimit === 'number'
      ? { rateLimit: all.ThrottlingRateLimit, burstLimit: all.ThrottlingBurstLimit }
      : undefined;

  const usagePlans: UsagePlanSpec[] = [];
  for (const plan of template.ofType('AWS::ApiGateway::UsagePlan')) {
    const stages = Array.isArray(plan.properties.ApiStages) ? plan.properties.ApiStages : [];
    if (!stages.some((s) => isRecord(s) && s.ApiId === api.ref)) continue;
    const q = plan.properties.Quota;
    const throttle = throttleOf(plan.properties.Throttle);
    usagePlans.push({
      id: plan.ref,
      ...(throttle ? { throttle } : {}),
      ...(isRecord(q) && typeof q.Limit === 'number'
        ? {
            quota: {
              limit: q.Limit,
              period: (String(q.Period ?? 'DAY').toUpperCase() as 'DAY' | 'WEEK' | 'MONTH') ?? 'DAY',
              offset: typeof q.Offset === 'number' ? q.Offset : 0,
            },
          }
        : {}),
    });
  }
  const planIds = new Set(usagePlans.map((p) => p.id));
  const planKeys = template.ofType('AWS::ApiGateway::UsagePlanKey');
  const apiKeys: ApiKeySpec[] = template.ofType('AWS::ApiGateway::ApiKey').map((k) => {
    const name = typeof k.properties.Name === 'string' ? k.properties.Name : undefined;
    const described = /client\s+(\S+)\s*$/.exec(String(k.properties.Description ?? ''))?.[1];
    return {
      key: `${k.stackName}/${k.logicalId}`,
      id: k.ref,
      enabled: k.properties.Enabled !== false,
      ...(typeof k.properties.Value === 'string' ? { value: k.properties.Value } : {}),
      ...((name ?? described) ? { clientName: (name ?? described) as string } : {}),
      ...(typeof k.properties.CustomerId === 'string' ? { customerId: k.properties.CustomerId } : {}),
      usagePlanIds: planKeys
        .filter((pk) => pk.properties.KeyId === k.ref && planIds.has(String(pk.properties.UsagePlanId)))
        .map((pk) => String(pk.properties.UsagePlanId)),
    };
  });

  const userPools = template.ofType('AWS::Cognito::UserPool').map((p) => p.ref);
  const clients: UserPoolClientSpec[] = template.ofType('AWS::Cognito::UserPoolClient').map((c) => {
    const units = isRecord(c.properties.TokenValidityUnits) ? c.properties.TokenValidityUnits.AccessToken : undefined;
    const validity = typeof c.properties.AccessTokenValidity === 'number' ? c.properties.AccessTokenValidity : 60;
    const unitSeconds = units === 'seconds' ? 1 : units === 'hours' ? 3600 : units === 'days' ? 86_400 : 60;
    const scopes = Array.isArray(c.properties.AllowedOAuthScopes) ? c.properties.AllowedOAuthScopes : [];
    const flows = Array.isArray(c.properties.AllowedOAuthFlows) ? c.properties.AllowedOAuthFlows : [];
    const urls = (v: unknown) => (Array.isArray(v) ? v.map(String) : []);
    const refreshUnits = isRecord(c.properties.TokenValidityUnits)
      ? c.properties.TokenValidityUnits.RefreshToken
      : undefined;
    const refreshUnitSeconds =
      refreshUnits === 'seconds' ? 1 : refreshUnits === 'minutes' ? 60 : refreshUnits === 'hours' ? 3600 : 86_400;
    return {
      clientId: c.ref,
      name: typeof c.properties.ClientName === 'string' ? c.properties.ClientName : c.logicalId,
      poolRef: String(c.properties.UserPoolId),
      scopes: scopes.map(String),
      flows: flows.map(String),
      // Cognito's default access-token lifetime is 60 minutes.
      accessTokenSeconds:
        (units === undefined && c.properties.AccessTokenValidity === undefined ? 60 : validity) * unitSeconds,
      // Cognito's default refresh-token lifetime is 30 days.
      refreshTokenSeconds:
        (typeof c.properties.RefreshTokenValidity === 'number' ? c.properties.RefreshTokenValidity : 30) *
        refreshUnitSeconds,
      generateSecret: c.properties.GenerateSecret === true,
      callbackUrls: urls(c.properties.CallbackURLs),
      logoutUrls: urls(c.properties.LogoutURLs),
    };
  });
  const groups: UserPoolGroupSpec[] = template.ofType('AWS::Cognito::UserPoolGroup').map((g) => ({
    poolRef: String(g.properties.UserPoolId),
    name: typeof g.properties.GroupName === 'string' ? g.properties.GroupName : g.ref,
  }));
  const distributionDomains = template
    .ofType('AWS::CloudFront::Distribution')
    .map((d) => d.attributes.DomainName)
    .filter((d): d is string => typeof d === 'string');

  const operations = operationsOf(openApi, authorizers, template.region);
  // API Gateway answers 500 for an integration whose function or alias does not exist; refuse it at start instead.
  for (const target of [
    ...operations.map((o) => o.functionArn),
    ...[...authorizers.values()].map((a) => a.functionArn),
  ]) {
    if (template.byArn(target)?.type !== 'AWS::Lambda::Function') {
      throw new ApiDefinitionError(
        `${where(api)}: an integration invokes ${target}, which is no function or alias of the template`,
      );
    }
  }

  return {
    apiId: api.ref,
    stageName,
    region: template.region,
    account: template.account,
    body: openApi,
    operations,
    gatewayResponses: gatewayResponsesOf(openApi),
    apiKeySource: body['x-amazon-apigateway-api-key-source'] === 'AUTHORIZER' ? 'AUTHORIZER' : 'HEADER',
    ...(stageThrottle ? { stageThrottle } : {}),
    apiKeys,
    usagePlans,
    userPools,
    clients,
    groups,
    distributionDomains,
  };
}
