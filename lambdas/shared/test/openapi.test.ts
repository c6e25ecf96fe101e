// The OpenAPI 3.1 and 3.0 documents: every route with its operationId and scope, every error response on the error schema.
import * as z from 'zod';
import { ROUTES } from '../contracts/api.js';
import { ERROR_SCHEMA_NAME, errorCodesOf, openApiDocument30, openApiDocument31 } from '../contracts/openapi.js';
import { ERROR_STATUS } from '../errors.js';

type Doc = ReturnType<typeof openApiDocument31> | ReturnType<typeof openApiDocument30>;
type Op = {
  operationId?: string;
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }>;
};

const operations = (doc: Doc) =>
  Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Op>).map(([method, op]) => ({ path, method, op })),
  );

describe.each([
  ['3.1', () => openApiDocument31({ tokenUrl: 'https://auth.example.com/oauth2/token' }), /^3\.1\./],
  ['3.0', () => openApiDocument30({ tokenUrl: 'https://auth.example.com/oauth2/token' }), /^3\.0\./],
])('OpenAPI %s document', (_v, build, version) => {
  const doc = build();

  it('GIVEN the route table WHEN generating THEN every route is present once with its operationId', () => {
    expect(doc.openapi).toMatch(version);
    const ops = operations(doc);
    expect(ops).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const found = ops.find((o) => o.path === route.path && o.method === route.method);
      expect(found?.op.operationId).toBe(route.operationId);
    }
  });

  it('GIVEN secured routes WHEN generating THEN each needs its oauth2 scope and nothing else (no API key header); health needs nothing', () => {
    for (const route of ROUTES) {
      const op = operations(doc).find((o) => o.path === route.path && o.method === route.method)?.op;
      expect(op?.security).toEqual(route.scope ? [{ oauth2: [route.scope] }] : []);
    }
    const schemes = doc.components?.securitySchemes as unknown as Record<string, Record<string, unknown>>;
    // The authorizer names the usage-plan key of the token's client: callers never send one.
    expect(schemes.api_key).toBeUndefined();
    expect(schemes.oauth2).toMatchObject({
      type: 'oauth2',
      flows: { clientCredentials: { tokenUrl: 'https://auth.example.com/oauth2/token' } },
    });
    const scopes = Object.keys(
      (schemes.oauth2 as { flows: { clientCredentials: { scopes: object } } }).flows.clientCredentials.scopes,
    );
    expect(scopes).toEqual(expect.arrayContaining(ROUTES.flatMap((r) => (r.scope ? [r.scope] : []))));
  });

  it('GIVEN any route WHEN generating THEN every 4xx/5xx response references the error schema, and the route lists its errors', () => {
    let checked = 0;
    for (const { path, method, op } of operations(doc)) {
      const route = ROUTES.find((r) => r.path === path && r.method === method);
      if (!route) throw new Error(`unexpected operation ${method} ${path}`);
      for (const code of errorCodesOf(route)) expect(op.responses[String(ERROR_STATUS[code])]).toBeDefined();
      for (const [status, response] of Object.entries(op.responses)) {
        if (Number(status) < 400) continue;
        expect(response.content?.['application/json']?.schema?.$ref).toBe(`#/components/schemas/${ERROR_SCHEMA_NAME}`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(ROUTES.length);
    expect(doc.components?.schemas?.[ERROR_SCHEMA_NAME]).toMatchObject({ required: ['error', 'requestId'] });
  });

  it('GIVEN POST /v1/score WHEN generating THEN its body is the Transaction schema and 409 is documented', () => {
    const op = (doc.paths as Record<string, { post: Op & { requestBody: unknown } }>)['/v1/score']?.post;
    expect(op?.requestBody).toMatchObject({
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Transaction' } } },
    });
    expect(op?.responses['409']).toBeDefined();
  });
});

describe.each([
  ['3.1', openApiDocument31],
  ['3.0', openApiDocument30],
])('OpenAPI %s document with a real-time model', (_v, build) => {
  const request = z.object({ merchantId: z.string().min(1), count: z.number().int().min(1) }).strict();
  const doc = build({ models: [{ name: 'merchant-risk', request }] });
  type PredictOp = Op & {
    requestBody: { content: Record<string, { schema: Record<string, unknown> }> };
    parameters: { in: string; name: string; required?: boolean }[];
  };
  const op = (doc.paths as Record<string, { post?: PredictOp }>)['/v1/models/merchant-risk/predict']?.post;

  it('GIVEN the model WHEN generating THEN its literal predict route takes the module’s request schema and its own scope', () => {
    expect(op?.operationId).toBe('predictMerchantRisk');
    expect(op?.security).toEqual([{ oauth2: ['aims/predict.merchant-risk'] }]);
    expect(op?.requestBody.content['application/json']?.schema).toMatchObject({
      required: ['merchantId', 'count'],
      properties: { count: { type: 'integer', minimum: 1 } },
    });
    expect(op?.responses['200']?.content?.['application/json']?.schema?.$ref).toBe(
      '#/components/schemas/PredictResponse',
    );
    expect(op?.responses['409']).toBeDefined();
    const schemes = doc.components?.securitySchemes as unknown as {
      oauth2: { flows: { clientCredentials: { scopes: Record<string, string> } } };
    };
    expect(schemes.oauth2.flows.clientCredentials.scopes['aims/predict.merchant-risk']).toMatch(/merchant-risk/);
  });

  it('GIVEN the model WHEN generating THEN the idempotency-key header is a required parameter (API Gateway validates it)', () => {
    expect(op?.parameters).toEqual([
      expect.objectContaining({ in: 'header', name: 'idempotency-key', required: true }),
    ]);
  });

  it('GIVEN a model named twice WHEN generating THEN it is refused', () => {
    expect(() => build({ models: [{ name: 'a' }, { name: 'a' }] })).toThrow(/named once/);
  });
});

describe.each([
  ['3.1', openApiDocument31],
  ['3.0', openApiDocument30],
])('OpenAPI %s document with a labelled model', (_v, build) => {
  const label = z.object({ merchantId: z.string().min(1), compromised: z.boolean() }).strict();
  const doc = build({
    labelled: [{ name: 'merchant-risk', label, about: { entity: 'merchant', outcome: 'compromised' } }],
  });
  type LabelsOp = Op & {
    summary: string;
    requestBody: { content: Record<string, { schema: Record<string, unknown> }> };
  };
  const op = (doc.paths as Record<string, { post?: LabelsOp }>)['/v1/models/merchant-risk/labels']?.post;

  it('GIVEN the model WHEN generating THEN its literal labels route takes the module’s label schema under the feedback scope', () => {
    expect(op?.operationId).toBe('reportLabelMerchantRisk');
    expect(op?.summary).toBe('Report whether a merchant was compromised on a day (merchant-risk)');
    expect(op?.security).toEqual([{ oauth2: ['aims/feedback'] }]);
    expect(op?.requestBody.content['application/json']?.schema).toMatchObject({
      required: ['merchantId', 'compromised'],
      properties: { compromised: { type: 'boolean' } },
    });
    expect(op?.responses['200']?.content?.['application/json']?.schema).toMatchObject({
      required: expect.arrayContaining(['model', 'entityId', 'day', 'outcome', 'reportedAt', 'receivedAt']),
    });
    expect((doc.paths as Record<string, unknown>)['/v1/models/merchant-risk/predict']).toBeUndefined();
  });

  it('GIVEN a labelled model named twice WHEN generating THEN it is refused', () => {
    expect(() => build({ labelled: [{ name: 'a' }, { name: 'a' }] })).toThrow(/named once/);
  });
});
