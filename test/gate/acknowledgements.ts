// The deploy gate's acknowledgements: every finding that is not fixed is silenced here, narrowly and with a reason,
// and an acknowledgement that matches nothing is reported as stale (the table never outlives what it excuses).
import type { GateFinding } from './check.js';

/** A finding as a check sees it before acknowledgements: the gate finding plus where it came from. */
export interface RawFinding extends GateFinding {
  /** CloudFormation stack name, e.g. `Dev-Models`. */
  readonly stackName: string;
  /** Logical id of the resource, when the finding is about one. */
  readonly logicalId?: string;
  /** Resource type, e.g. `AWS::SQS::Queue`. */
  readonly resourceType?: string;
}

export interface Acknowledgement {
  /** The one rule silenced, e.g. `W3005` or `sqs_dlq_check`. */
  readonly rule: string;
  /** Only findings in stacks whose name matches. @default - every stack */
  readonly stacks?: RegExp;
  /** Only findings on resources whose logical id matches. @default - every resource of the rule */
  readonly resources?: RegExp;
  /** Only findings on resources of these types. @default - every type */
  readonly types?: readonly string[];
  /** Only findings whose message matches. @default - any message */
  readonly message?: RegExp;
  /** Why the finding is right to leave (at least 20 characters). */
  readonly reason: string;
}

/** A short label naming what an acknowledgement covers, for the stale list. */
export function labelOf(ack: Acknowledgement): string {
  const scope = [
    ack.stacks && `stacks ${ack.stacks.source}`,
    ack.resources && `resources ${ack.resources.source}`,
    ack.types && `types ${ack.types.join('|')}`,
    ack.message && `message ${ack.message.source}`,
  ].filter(Boolean);
  return `${ack.rule}${scope.length ? ` (${scope.join(', ')})` : ''}`;
}

export function matches(ack: Acknowledgement, finding: RawFinding): boolean {
  if (ack.rule !== finding.rule) return false;
  if (ack.stacks && !ack.stacks.test(finding.stackName)) return false;
  if (ack.resources && !(finding.logicalId !== undefined && ack.resources.test(finding.logicalId))) return false;
  if (ack.types && !(finding.resourceType !== undefined && ack.types.includes(finding.resourceType))) return false;
  if (ack.message && !ack.message.test(finding.message)) return false;
  return true;
}

export interface Acknowledged {
  /** Findings no acknowledgement covers. */
  readonly open: readonly GateFinding[];
  /** How many findings were silenced. */
  readonly acknowledged: number;
  /** Labels of the acknowledgements that matched nothing. */
  readonly unused: readonly string[];
}

/**
 * Splits findings into open and acknowledged. `acknowledgeable` says which findings may be acknowledged at all
 * (cfn-lint errors may not); an acknowledgement that only matches findings it may not silence is stale.
 */
export function acknowledge<F extends RawFinding>(
  findings: readonly F[],
  table: readonly Acknowledgement[],
  acknowledgeable: (finding: F) => boolean = () => true,
): Acknowledged {
  const used = new Set<Acknowledgement>();
  const open: GateFinding[] = [];
  let acknowledged = 0;
  for (const finding of findings) {
    const ack = acknowledgeable(finding) ? table.find((a) => matches(a, finding)) : undefined;
    if (ack) {
      used.add(ack);
      acknowledged++;
    } else {
      open.push({ rule: finding.rule, where: finding.where, message: finding.message });
    }
  }
  return { open, acknowledged, unused: table.filter((a) => !used.has(a)).map(labelOf) };
}

/** cfn-lint warnings and informational findings left as they are (errors cannot be acknowledged). */
export const CFN_LINT_ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  {
    rule: 'W3005',
    // Only the DependsOn on the resource's own execution role, which its Role/RoleArn GetAtt already orders.
    message:
      /^\[Warning\] '\w+Role[0-9A-F]{8}' dependency already enforced by a 'GetAtt' at 'Resources\/\w+\/Properties\/(Role|RoleArn|ExtendedS3DestinationConfiguration\/RoleARN)'$/,
    reason:
      "aws-cdk-lib's Function, StateMachine and DeliveryStream call node.addDependency(role) so the role's DefaultPolicy " +
      'exists first; the DependsOn it renders also names the role itself, redundant with the GetAtt but harmless. ' +
      "Removing it would mean overriding CDK's DependsOn rendering on every resource.",
  },
  {
    rule: 'I1022',
    message: /^\[Informational\] Prefer using Fn::Sub over Fn::Join with an empty delimiter$/,
    reason:
      'Style advice on how aws-cdk-lib renders every token concatenation (Fn::Join with an empty delimiter); both ' +
      'intrinsics resolve to the same string, and the templates are generated, never edited by hand.',
  },
];

/** Control Tower proactive controls (cfn-guard) that do not pass, per rule and, where the rule is right elsewhere, per resource. */
export const GUARD_ACKNOWLEDGEMENTS: readonly Acknowledgement[] = [
  {
    rule: 'cloudfront_custom_ssl_certificate_check',
    types: ['AWS::CloudFront::Distribution'],
    reason:
      "The console is served on CloudFront's default *.cloudfront.net domain and certificate: a custom domain needs a " +
      'registered name and an ACM certificate in us-east-1 per environment, which no environment here has (docs/deploy.md).',
  },
  {
    rule: 'cloudfront_sni_enabled_check',
    types: ['AWS::CloudFront::Distribution'],
    reason: 'SNI is a property of a custom certificate; the default *.cloudfront.net certificate has none to set.',
  },
  {
    rule: 'cloudfront_security_policy_check',
    types: ['AWS::CloudFront::Distribution'],
    reason:
      'The minimum TLS policy can only be set with a custom certificate; the default *.cloudfront.net certificate ' +
      'fixes it. The origins (S3, API Gateway) are reached over TLS 1.2.',
  },
  {
    rule: 'cloudfront_origin_failover_enabled_check',
    types: ['AWS::CloudFront::Distribution'],
    reason:
      'Each origin exists once per environment (one site bucket, one regional API): there is no second origin to fail ' +
      'over to; the app is static and S3 is regional and redundant.',
  },
  {
    rule: 's3_bucket_default_encryption_kms_check',
    resources: /^(AccessLogsBucket|SiteBucket|SiteRequestLogsBucket)[0-9A-F]{8}$/,
    reason:
      'The server access log target bucket: S3 delivers server access logs only to buckets encrypted with SSE-S3, not SSE-KMS. ' +
      "The console's buckets (SSE-S3): the site bucket holds the public app's static files (no data), read by CloudFront " +
      'through origin access control; the request-log bucket receives CloudFront standard logs, delivered with an ACL grant.',
  },
  {
    rule: 's3_bucket_logging_enabled_check',
    resources: /^(AccessLogsBucket|SiteBucket|SiteRequestLogsBucket)[0-9A-F]{8}$/,
    reason:
      'The server access log target itself: logging it into itself would log every log delivery, without end. The ' +
      "console's buckets do log to it (LoggingConfiguration), but across stacks: the rule does not read the imported name.",
  },
  {
    rule: 's3_bucket_object_lock_enabled_check',
    types: ['AWS::S3::Bucket'],
    reason:
      'No bucket holds records that must be WORM: objects expire by lifecycle rules per environment and dev buckets are ' +
      'destroyed with the stack, which Object Lock (creation-only) would forbid. Versioning protects against overwrites.',
  },
  {
    rule: 's3_event_notifications_enabled_check',
    types: ['AWS::S3::Bucket'],
    reason:
      'No consumer reacts to object events: the lake, capture, monitoring and artifact buckets are read by jobs that the ' +
      'state machine and schedules start; notifications with no target would be noise.',
  },
  {
    rule: 'sqs_dlq_check',
    resources: /DeadLetterQueue[0-9A-F]{8}$/,
    reason:
      'These queues are dead-letter queues themselves (bus, rule targets, stream consumer): a dead-letter queue of a ' +
      'dead-letter queue only moves the messages; each has an alarm on its depth instead.',
  },
  {
    rule: 'sqs_queue_encrypted_check',
    stacks: /-(Models|Retraining)$/,
    resources: /^DeadLetterQueue[0-9A-F]{8}$/,
    reason:
      'False positive: KmsMasterKeyId is the data key through Fn::GetStackOutput (a CDK weak cross-stack reference), ' +
      'which the Control Tower rules do not read; the queue is encrypted with the data key.',
  },
  {
    rule: 'athena_workgroup_results_encrypted_at_rest_kms_check',
    stacks: /-Retraining$/,
    types: ['AWS::Athena::WorkGroup'],
    reason:
      'False positive: EncryptionOption is SSE_KMS with the data key given through Fn::GetStackOutput (a CDK weak ' +
      'cross-stack reference), which the Control Tower rules do not read.',
  },
  {
    rule: 'cloudwatch_alarm_action_check',
    stacks: /-Models$/,
    resources: /^\w+(Endpoint(Invocation5xx|ModelLatency|ScoreShift)Alarm|MonitorDrift\w*)[0-9A-F]{8}$/,
    reason:
      "The endpoint's alarms are read by SageMaker's deployment guardrails (auto-rollback) and the drift alarms by an " +
      'EventBridge rule on "CloudWatch Alarm State Change" (the alarm relay): their consumers are not alarm actions.',
  },
  {
    rule: 'cloudwatch_log_group_encrypted_check',
    types: ['AWS::Logs::LogGroup'],
    reason:
      'Logs are encrypted at rest by CloudWatch Logs with AWS-owned keys. Moving them to the data key needs a key-policy ' +
      'statement for logs.<region>.amazonaws.com conditioned on kms:EncryptionContext:aws:logs:arn, reported to the data-stack owner.',
  },
  {
    rule: 'cloudwatch_log_group_retention_period_check',
    stacks: /^(Dev|Staging)-/,
    types: ['AWS::Logs::LogGroup'],
    reason:
      'Log retention is set per environment in environments.ts: dev a week and staging a month keep cost down; prod keeps ' +
      'a year and passes. The audit trail is the decisions table and the lake, not the logs.',
  },
  {
    rule: 'lambda_inside_vpc_check',
    types: ['AWS::Lambda::Function'],
    reason:
      'No function reaches a private network resource: every dependency is an AWS API reached with IAM and TLS. A VPC would ' +
      'add NAT or endpoints, ENI cold starts and cost for no isolation gain.',
  },
];
