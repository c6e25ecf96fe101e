// GET /v1/health through the shared stack, and the deployed entry reading its env.
import { HealthResponse } from '../../shared/contracts/api.js';
import { createPowertools } from '../../shared/powertools.js';
import { apiEvent, lambdaContext, quietPowertools } from '../../shared/test/apigw.js';
import { createHealthHandler } from '../app.js';

quietPowertools();

describe('GET /v1/health', () => {
  it('GIVEN the service WHEN asked THEN 200 {status: ok, service, version}', async () => {
    const handler = createHealthHandler({
      powertools: createPowertools({ serviceName: 'health' }),
      service: 'health',
      version: '1.2.3',
    });
    const res = await handler(apiEvent({ method: 'GET', resource: '/v1/health' }), lambdaContext('health'));
    expect(res.statusCode).toBe(200);
    expect(HealthResponse.parse(JSON.parse(res.body))).toEqual({ status: 'ok', service: 'health', version: '1.2.3' });
  });

  it('GIVEN the deployed entry WHEN env names the service THEN it answers with that name', async () => {
    Object.assign(process.env, {
      POWERTOOLS_SERVICE_NAME: 'aims-health',
      POWERTOOLS_METRICS_NAMESPACE: 'aims',
      AWS_REGION: 'eu-west-1',
    });
    const { handler } = await import('../handler.js');
    const res = await handler(apiEvent({ method: 'GET', resource: '/v1/health' }), lambdaContext('health'));
    expect(JSON.parse(res.body)).toMatchObject({ status: 'ok', service: 'aims-health' });
  });
});
