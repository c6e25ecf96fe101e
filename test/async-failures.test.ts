// Nothing an EventBridge rule hands to a function is lost on AWS. EventBridge invokes Lambda asynchronously: the rule
// target's retry policy and DLQ only cover handing the event over. A function error is retried by Lambda and then
// discarded unless the function has an on-failure destination (or a DLQ of its own) — so every rule target has one.
import { Stack } from 'aws-cdk-lib';
import { STAGE_NAMES } from '../lib/config/environment-config.js';
import { cleanTestApps, templateOf, testApp } from './support/app.js';

// biome-ignore lint/suspicious/noExplicitAny: template bodies are untyped JSON walked by path.
type Json = any;

const { stages } = testApp();
afterAll(() => cleanTestApps());

/** Every Lambda function a rule of `stack` targets (by logical id, the rule's target `Fn::GetAtt [id, Arn]`). */
function ruleTargetFunctions(resources: Record<string, Json>): { rule: string; fn: string }[] {
  return Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::Events::Rule')
    .flatMap(([rule, r]) =>
      (r.Properties.Targets ?? []).flatMap((t: Json) => {
        const id = t.Arn?.['Fn::GetAtt']?.[0];
        return typeof id === 'string' && resources[id]?.Type === 'AWS::Lambda::Function' ? [{ rule, fn: id }] : [];
      }),
    );
}

describe.each(STAGE_NAMES)('GIVEN the %s stage', (name) => {
  const stacks = stages[name].node.children.filter((c): c is Stack => c instanceof Stack);

  test('THEN every function an EventBridge rule targets sends what Lambda gives up on to a queue', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const stack of stacks) {
      const resources = templateOf(stack).toJSON().Resources ?? {};
      const configs = Object.values(resources).filter((r: Json) => r.Type === 'AWS::Lambda::EventInvokeConfig');
      for (const { rule, fn } of ruleTargetFunctions(resources)) {
        checked += 1;
        const config = configs.find(
          (c: Json) => c.Properties.FunctionName?.Ref === fn && c.Properties.Qualifier === '$LATEST',
        ) as Json;
        const onFailure = config?.Properties.DestinationConfig?.OnFailure?.Destination?.['Fn::GetAtt'];
        const ownDlq = resources[fn].Properties.DeadLetterConfig;
        const target = resources[rule].Properties.Targets.find((t: Json) => t.Arn['Fn::GetAtt'][0] === fn);
        if (!onFailure && !ownDlq) {
          missing.push(`${stack.stackName}/${fn} (rule ${rule})`);
        } else if (onFailure && target.DeadLetterConfig) {
          // One place to look: Lambda's failures and EventBridge's land in the same queue.
          expect(onFailure).toEqual(target.DeadLetterConfig.Arn['Fn::GetAtt']);
        }
      }
    }
    expect(missing).toEqual([]);
    // The app's rule targets: ingest, labels and alerts, a drift check and a shadow comparison per model, the
    // model monitor's alarm relays. Fewer than a handful means the walk above found nothing to check.
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});
