// The WAF rules AIMS puts in front of its two public entry points: the API (a regional web ACL) and the console's
// CloudFront distribution (a web ACL in us-east-1). One place, so both block the same way and answer the same 429.
import type { CfnWebACL } from 'aws-cdk-lib/aws-wafv2';

/** The custom response body key a rate rule blocks with (each web ACL declares it in `customResponseBodies`). */
export const THROTTLED_BODY_KEY = 'throttled';

/** `customResponseBodies` for a web ACL whose rate rules block with {@link THROTTLED_BODY_KEY}: the API's error shape. */
export const THROTTLED_RESPONSE_BODIES: Record<string, CfnWebACL.CustomResponseBodyProperty> = {
  [THROTTLED_BODY_KEY]: {
    contentType: 'APPLICATION_JSON',
    content: '{"error":{"code":"throttled","message":"Too many requests from this address"},"requestId":""}',
  },
};

/**
 * The header CloudFront adds to every request it forwards to an origin. A caller can send it too, so it only ever
 * selects the stricter, per-viewer count — never exempts a request from the per-address one.
 */
export const CLOUDFRONT_REQUEST_ID_HEADER = 'x-amz-cf-id';

/** An AWS managed rule group, its own actions kept except `ruleActionOverrides`. */
export function managedRule(
  name: string,
  priority: number,
  ruleSet: string,
  ruleActionOverrides?: CfnWebACL.RuleActionOverrideProperty[],
): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: ruleSet, ruleActionOverrides } },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: name, sampledRequestsEnabled: true },
  };
}

/** The managed groups both web ACLs run first: common exploits, known bad inputs, Amazon's IP reputation list. */
export function baselineRules(commonOverrides?: CfnWebACL.RuleActionOverrideProperty[]): CfnWebACL.RuleProperty[] {
  return [
    managedRule('common', 0, 'AWSManagedRulesCommonRuleSet', commonOverrides),
    managedRule('known-bad-inputs', 1, 'AWSManagedRulesKnownBadInputsRuleSet'),
    managedRule('ip-reputation', 2, 'AWSManagedRulesAmazonIpReputationList'),
  ];
}

export interface RateRuleProps {
  readonly name: string;
  readonly priority: number;
  /** Requests per 5 minutes from one address before its requests are blocked (429) until the rate falls. */
  readonly limitPer5Min: number;
  /**
   * Count per the first address of this header (e.g. `X-Forwarded-For`) instead of the connection's source address.
   * A request without the header is not counted by this rule; one with a malformed address is (fallback MATCH).
   * @default - the source address
   */
  readonly forwardedIpHeader?: string;
  /** Only requests that carry this header (any value) are counted. @default - every request */
  readonly onlyWithHeader?: string;
}

/** A rate-based rule that blocks an address over its limit with a 429 and the API's error body. */
export function rateRule(props: RateRuleProps): CfnWebACL.RuleProperty {
  const scopeDownStatement: CfnWebACL.StatementProperty | undefined = props.onlyWithHeader
    ? {
        sizeConstraintStatement: {
          fieldToMatch: { singleHeader: { Name: props.onlyWithHeader } },
          comparisonOperator: 'GT',
          size: 0,
          textTransformations: [{ priority: 0, type: 'NONE' }],
        },
      }
    : undefined;
  return {
    name: props.name,
    priority: props.priority,
    action: { block: { customResponse: { responseCode: 429, customResponseBodyKey: THROTTLED_BODY_KEY } } },
    statement: {
      rateBasedStatement: {
        limit: props.limitPer5Min,
        ...(props.forwardedIpHeader
          ? {
              aggregateKeyType: 'FORWARDED_IP',
              forwardedIpConfig: { headerName: props.forwardedIpHeader, fallbackBehavior: 'MATCH' },
            }
          : { aggregateKeyType: 'IP' }),
        ...(scopeDownStatement ? { scopeDownStatement } : {}),
      },
    },
    visibilityConfig: { cloudWatchMetricsEnabled: true, metricName: props.name, sampledRequestsEnabled: true },
  };
}
