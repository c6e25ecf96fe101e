// The API model read from the synthesized dev template: integrations that name a function alias reach that function.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { restApiDefinition } from '../model.js';
import { devTemplate, withProperties } from './support.js';

const synthesized = existsSync(join(process.cwd(), 'cdk.out', 'assembly-Dev', 'manifest.json'));
const describeDev = synthesized ? describe : describe.skip;

describeDev('GIVEN the dev API, whose score route integrates the live alias of the score function', () => {
  const template = devTemplate('http://127.0.0.1:3000');
  const score = () => restApiDefinition(template).operations.find((o) => o.resourcePath === '/v1/score');

  test('WHEN the model is read THEN the score operation invokes the alias ARN, and that ARN is the score function', () => {
    const op = score();
    const alias = template.ofType('AWS::Lambda::Alias').find((a) => a.path?.startsWith('Dev/Services/Score/'));
    expect(alias).toBeDefined();
    expect(op?.functionArn).toBe(alias?.ref);
    expect(op?.functionArn).toMatch(/:function:[^:]+:live$/);
    expect(template.byArn(op?.functionArn ?? '')).toMatchObject({
      type: 'AWS::Lambda::Function',
      path: 'Dev/Services/Score/Function/Resource',
    });
  });

  test('WHEN an integration names an alias the template does not declare THEN the API refuses to start', () => {
    const canary = withProperties(template, (r) => {
      if (r.type !== 'AWS::ApiGateway::RestApi') return undefined;
      return JSON.parse(JSON.stringify(r.properties).replaceAll(':live/invocations', ':canary/invocations'));
    });
    expect(() => restApiDefinition(canary)).toThrow(
      /invokes arn:aws:lambda:[^ ]+:canary, which is no function or alias/,
    );
  });
});
