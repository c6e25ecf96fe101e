// The analysts' and operators' console on AWS: the built app in a private bucket behind CloudFront (origin access
// control, HTTPS only, security headers), /v1/* routed to the API so the app calls its own origin, the runtime
// config.json written at deploy time, and the app's Cognito client with its usage-plan key.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnResource, Duration, Fn, type RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { ApiKey, CfnUsagePlanKey, type IUsagePlan, type RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  OriginRequestPolicy,
  PriceClass,
  ResponseHeadersPolicy,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { RestApiOrigin, S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { OAuthScope, type UserPool, UserPoolClient, type UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { CONSOLE_CONFIG_FILE, type ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import { DOCS_PAGE_HTML, DOCS_SCRIPT, DOCS_SCRIPT_FILE, SWAGGER_UI_FILES, swaggerUiDir } from './api-docs-page.js';
import { tagConsoleResource } from './console-metadata.js';

/** The scopes the console's people ask for (each person gets those their groups allow). */
export const CONSOLE_SCOPES = ['openid', 'aims/read', 'aims/feedback', 'aims/review', 'aims/admin'] as const;

/** Where the site holds the API docs (Swagger UI over /openapi.json). */
export const DOCS_PREFIX = 'docs/';
/** One memory size for both deployments, so they share CDK's singleton copy function. */
const DEPLOYMENT_MEMORY_MB = 512;

/** The path prefix CloudFront routes to the API (the API's own paths start with it). */
export const CONSOLE_API_PATH = '/v1/*';

export interface ConsoleSiteProps {
  /** The built app (`console/dist`: index.html and assets with relative URLs). */
  readonly appDir: string;
  /** Shown in the app's header and written to config.json. */
  readonly stageName: string;
  /** The pool people sign in to (the API's pool: its resource server owns the `aims/*` scopes). */
  readonly userPool: UserPool;
  /** The pool's hosted domain: sign-in, token and sign-out endpoints. */
  readonly authDomain: UserPoolDomain;
  /** The API CloudFront forwards `/v1/*` to, at its deployed stage. */
  readonly api: RestApiBase;
  /** The usage plan the console client's key joins (the authorizer finds the key by client id). */
  readonly usagePlan: IUsagePlan;
  /** Where the site bucket and the distribution write their access logs (S3 server access logs). */
  readonly accessLogsBucket: IBucket;
  readonly removalPolicy: RemovalPolicy;
  readonly logRetention: RetentionDays;
  /** Days CloudFront's request logs are kept. @default 90 */
  readonly requestLogExpirationDays?: number;
  /** The API's OpenAPI document, deployed as /openapi.json beside the Swagger UI page at /docs/.
   *  @default - no API docs on the site */
  readonly openApi?: Readonly<Record<string, unknown>>;
  /** The CloudFront-scoped WAF web ACL the distribution is evaluated by (it lives in us-east-1). */
  readonly webAclArn: string;
  /** @default PriceClass.PRICE_CLASS_100 (North America and Europe edges) */
  readonly priceClass?: PriceClass;
}

export class ConsoleSite extends Construct {
  public readonly bucket: Bucket;
  /** CloudFront's request logs (standard logging needs a bucket with ACLs; the others have them disabled). */
  public readonly requestLogsBucket: Bucket;
  public readonly distribution: Distribution;
  public readonly responseHeaders: ResponseHeadersPolicy;
  /** The console's public app client: authorization code + PKCE, no secret. */
  public readonly client: UserPoolClient;
  /** The client's usage-plan key: `CustomerId` is the client id, which is how the authorizer finds it. */
  public readonly apiKey: ApiKey;
  /** `https://<distribution domain>` — where people open the console. */
  public readonly url: string;
  /** What the deployment writes to config.json (tokens resolved at deploy time). */
  public readonly config: ConsoleConfig;

  constructor(scope: Construct, id: string, props: ConsoleSiteProps) {
    super(scope, id);
    if (!existsSync(join(props.appDir, 'index.html'))) {
      throw new Error(
        `appDir must hold the built console (index.html), got '${props.appDir}': run npm run console:build`,
      );
    }
    const stack = Stack.of(this);

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console/',
      lifecycleRules: [
        {
          id: 'tidy-versions-and-uploads',
          noncurrentVersionExpiration: Duration.days(30),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
    });
    this.requestLogsBucket = new Bucket(this, 'RequestLogsBucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // CloudFront standard logging writes with an ACL grant: the one bucket here that keeps ACLs on.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_PREFERRED,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'console-request-logs/',
      lifecycleRules: [
        {
          id: 'expire-request-logs',
          expiration: Duration.days(props.requestLogExpirationDays ?? 90),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: props.removalPolicy,
    });

    const cognitoOrigin = props.authDomain.baseUrl();
    const issuerOrigin = `https://cognito-idp.${stack.region}.${stack.urlSuffix}`;
    this.responseHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'AIMS console: HSTS, CSP (self + Cognito), no framing, nosniff, referrer policy',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
        contentSecurityPolicy: {
          contentSecurityPolicy: Fn.join('; ', [
            "default-src 'self'",
            "script-src 'self'",
            // Charts and Swagger UI set style attributes; no inline script is allowed.
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            // oidc-client-ts reads the issuer's discovery document and calls the hosted domain's token endpoint.
            `connect-src 'self' ${issuerOrigin} ${cognitoOrigin}`,
            `form-action 'self' ${cognitoOrigin}`,
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
          ]),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `AIMS ${props.stageName} console`,
      webAclId: props.webAclArn,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      priceClass: props.priceClass ?? PriceClass.PRICE_CLASS_100,
      enableLogging: true,
      logBucket: this.requestLogsBucket,
      logFilePrefix: 'cloudfront/',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeaders,
        compress: true,
      },
      additionalBehaviors: {
        // The app calls its own origin: no CORS, and the API's WAF, authorizer and usage plan see every call.
        [CONSOLE_API_PATH]: {
          origin: new RestApiOrigin(props.api),
          viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
          allowedMethods: AllowedMethods.ALLOW_ALL,
          // Caching disabled: the managed all-viewer origin request policy may then forward Authorization.
          cachePolicy: CachePolicy.CACHING_DISABLED,
          originRequestPolicy: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER,
          responseHeadersPolicy: this.responseHeaders,
        },
      },
    });
    tagConsoleResource(this.distribution, 'distribution');
    this.url = `https://${this.distribution.distributionDomainName}`;

    // In this stack, not through userPool.addClient (which would put it in the pool's stack, before the distribution).
    this.client = new UserPoolClient(this, 'ConsoleClient', {
      userPool: props.userPool,
      userPoolClientName: 'console',
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: CONSOLE_SCOPES.map((s) => (s === 'openid' ? OAuthScope.OPENID : OAuthScope.custom(s))),
        callbackUrls: [`${this.url}/`],
        logoutUrls: [`${this.url}/`],
      },
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
    });
    tagConsoleResource(this.client, 'app-client');

    this.apiKey = new ApiKey(this, 'ApiKey', {
      description: 'API key of client console',
      enabled: true,
      customerId: this.client.userPoolClientId,
    });
    // Here, not through usagePlan.addApiKey: that would put the link in the API's stack, which cannot see this key.
    new CfnUsagePlanKey(this, 'UsagePlanKey', {
      keyId: this.apiKey.keyId,
      keyType: 'API_KEY',
      usagePlanId: props.usagePlan.usagePlanId,
    });

    this.config = {
      stage: props.stageName,
      apiUrl: '',
      auth: {
        authority: props.userPool.userPoolProviderUrl,
        clientId: this.client.userPoolClientId,
        scopes: [...CONSOLE_SCOPES],
        logoutUrl: `${cognitoOrigin}/logout`,
      },
    };
    const logGroup = new LogGroup(this, 'DeploymentLogs', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });
    const deployment = new BucketDeployment(this, 'Deployment', {
      // It prunes what its sources do not hold (docs/ aside, the next deployment's): config.json must be one of them.
      sources: [
        Source.asset(props.appDir, { exclude: ['*.map'] }),
        Source.jsonData(CONSOLE_CONFIG_FILE, this.config),
        ...(props.openApi ? [Source.jsonData('openapi.json', props.openApi)] : []),
      ],
      exclude: ['*.map', `${DOCS_PREFIX}*`],
      destinationBucket: this.bucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      logGroup,
      memoryLimit: DEPLOYMENT_MEMORY_MB,
    });
    if (props.openApi) {
      // Swagger UI from the installed swagger-ui-dist (the allowlisted files only), as the local stage serves it.
      new BucketDeployment(this, 'DocsDeployment', {
        sources: [
          Source.asset(swaggerUiDir(), { exclude: ['*', ...SWAGGER_UI_FILES.map((file) => `!${file}`)] }),
          Source.data('index.html', DOCS_PAGE_HTML),
          Source.data(DOCS_SCRIPT_FILE, DOCS_SCRIPT),
        ],
        destinationBucket: this.bucket,
        destinationKeyPrefix: DOCS_PREFIX,
        distribution: this.distribution,
        distributionPaths: [`/${DOCS_PREFIX}*`],
        logGroup,
        memoryLimit: DEPLOYMENT_MEMORY_MB,
      });
    }
    this.acknowledge(deployment);
  }

  private acknowledge(deployment: BucketDeployment): void {
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Analysts and operators sign in from wherever they work; Cognito and the API authorize every call.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default *.cloudfront.net certificate allows TLSv1 viewers; a custom domain with an ACM certificate (TLS 1.2_2021) is set per deployment.',
      },
    );
    // The copy function is a stack-wide singleton outside this construct: acknowledge on it (the role's scope).
    const copier = deployment.handlerRole.node.scope;
    if (!copier) throw new Error('the bucket deployment has no function');
    const copy = "CDK's BucketDeployment copies the app's asset into the site bucket and invalidates the distribution";
    Validations.of(copier).acknowledge(
      ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map((action) => ({
        id: `AwsSolutions-IAM5[Action::${action}]`,
        reason: `${copy}: the grant's object-level actions on the asset and site buckets only.`,
      })),
      {
        id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnResource)}.Arn>/*]`,
        reason: `${copy}: every object of the site bucket is the app's.`,
      },
      {
        id: `AwsSolutions-IAM5[Resource::arn:aws:s3:::cdk-hnb659fds-assets-${Stack.of(this).account}-${Stack.of(this).region}/*]`,
        reason: `${copy}: it reads the zipped app from the CDK bootstrap assets bucket.`,
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `${copy}: cloudfront:CreateInvalidation/GetInvalidation take no resource narrower than * in its policy.`,
      },
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: `${copy}; its singleton function logs with the AWS managed basic execution policy.`,
      },
      {
        id: 'AwsSolutions-L1',
        reason: "CDK's BucketDeployment function runs the Python runtime aws-cdk-lib pins for its aws-cli layer.",
      },
    );
  }
}
