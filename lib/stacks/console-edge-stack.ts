// The console's edge protection: the web ACL CloudFront evaluates before serving the console or forwarding /v1/* to
// the API. CloudFront takes web ACLs from us-east-1 only, so this is the one stack of a stage in that region; the
// console stack (in the stage's region) reads the ACL's ARN through CDK's cross-region references.
import { Stack, type StackProps } from 'aws-cdk-lib';
import { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { baselineRules, rateRule, THROTTLED_RESPONSE_BODIES } from '../constructs/web-acl-rules.js';

/** The only region where CloudFront-scoped WAF resources can be created. */
export const CLOUDFRONT_WAF_REGION = 'us-east-1';

export interface ConsoleEdgeStackProps extends StackProps {
  /** Requests per 5 minutes from one viewer address before the edge blocks it with a 429. */
  readonly viewerRateLimitPer5Min: number;
}

export class ConsoleEdgeStack extends Stack {
  public readonly webAcl: CfnWebACL;

  constructor(scope: Construct, id: string, props: ConsoleEdgeStackProps) {
    super(scope, id, { ...props, crossRegionReferences: true });
    this.node.addValidation({
      validate: () =>
        this.region === CLOUDFRONT_WAF_REGION
          ? []
          : [`a CloudFront web ACL can only be created in ${CLOUDFRONT_WAF_REGION}, this stack is in ${this.region}`],
    });
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      customResponseBodies: THROTTLED_RESPONSE_BODIES,
      visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: 'aims-console', sampledRequestsEnabled: true },
      rules: [
        // The console's calls are small JSON bodies: the common set runs unchanged (the API keeps its own override).
        ...baselineRules(),
        // At the edge the source address is the viewer's own.
        rateRule({ name: 'rate-limit-per-viewer', priority: 3, limitPer5Min: props.viewerRateLimitPer5Min }),
      ],
    });
  }
}
