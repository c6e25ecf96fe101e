// The console of one environment: the web app on S3 + CloudFront with its Cognito client, beside the API it calls.
import { type RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { ConsoleSite } from '../constructs/console-site.js';
import type { ConsoleEdgeStack } from './console-edge-stack.js';
import type { ServicesStack } from './services-stack.js';

export interface ConsoleStackProps extends StackProps {
  /** The stage's name, shown by the app. */
  readonly stageName: string;
  /** The built app (`console/dist`). */
  readonly appDir: string;
  /** The services stack: its user pool and hosted domain (sign-in), its API and usage plan (/v1/*). */
  readonly services: ServicesStack;
  /** The edge stack (us-east-1) whose web ACL guards the distribution. */
  readonly edge: ConsoleEdgeStack;
  /** The data stack's access-log bucket (S3 server access logs of the console's buckets). */
  readonly accessLogsBucket: IBucket;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  /** The API's OpenAPI document, published with Swagger UI at /docs/. @default - no API docs on the site */
  readonly openApi?: Readonly<Record<string, unknown>>;
}

export class ConsoleStack extends Stack {
  public readonly site: ConsoleSite;

  constructor(scope: Construct, id: string, props: ConsoleStackProps) {
    // The web ACL's ARN comes from us-east-1: CDK writes it to an SSM parameter in this region for this stack to read.
    super(scope, id, { ...props, crossRegionReferences: true });
    const { services } = props;
    this.site = new ConsoleSite(this, 'Site', {
      appDir: props.appDir,
      stageName: props.stageName,
      userPool: services.auth.userPool,
      authDomain: services.auth.domain,
      api: services.api.api,
      usagePlan: services.api.usagePlan,
      webAclArn: props.edge.webAcl.attrArn,
      accessLogsBucket: props.accessLogsBucket,
      removalPolicy: props.removalPolicy,
      logRetention: props.logRetention,
      ...(props.openApi ? { openApi: props.openApi } : {}),
    });
  }
}
