// OAuth2 auth for the API: a Cognito user pool with the `aims` resource server, one client-credentials app client per
// API client, the groups people sign in with (analysts, operators: contracts/people.ts), the hosted domain, and the
// settings the JWT authorizer needs to verify their access tokens.
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnUserPoolGroup,
  OAuthScope,
  ResourceServerScope,
  UserPool,
  type UserPoolClient,
  type UserPoolDomain,
  type UserPoolResourceServer,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { apiScopes, RESOURCE_SERVER } from '../../lambdas/shared/contracts/api.js';
import { PEOPLE_GROUPS } from '../../lambdas/shared/contracts/people.js';
import type { ApiClientConfig, ApiScopeName } from '../config/api-clients.js';

export interface ApiAuthProps {
  readonly clients: readonly ApiClientConfig[];
  /** Prefix of the Cognito hosted domain that serves /oauth2/token (AWS requires it to be unique in the region). */
  readonly domainPrefix: string;
  readonly removalPolicy: RemovalPolicy;
  /** The real-time models: each adds the scope `predict.<name>` its predict route needs. @default - none */
  readonly predictModels?: readonly string[];
  /** Lifetime of an access token. @default Duration.hours(1) */
  readonly accessTokenValidity?: Duration;
}

export class ApiAuth extends Construct {
  public readonly userPool: UserPool;
  public readonly resourceServer: UserPoolResourceServer;
  /** The hosted domain: /oauth2/token for clients, sign-in and sign-out pages for people. */
  public readonly domain: UserPoolDomain;
  public readonly clients: Readonly<Record<string, UserPoolClient>>;
  /** People's groups by name; each grants the scopes contracts/people.ts lists (the authorizer enforces them). */
  public readonly groups: Readonly<Record<string, CfnUserPoolGroup>>;
  private readonly scopeByName: ReadonlyMap<string, ResourceServerScope>;
  /** The issuer (`iss`) of the pool's tokens. */
  public readonly issuer: string;
  public readonly jwksUri: string;
  public readonly tokenUrl: string;

  constructor(scope: Construct, id: string, props: ApiAuthProps) {
    super(scope, id);
    if (
      !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(props.domainPrefix) ||
      /aws|amazon|cognito/.test(props.domainPrefix)
    ) {
      throw new Error(
        `domainPrefix must be lower-case letters, digits and hyphens without aws/amazon/cognito, got '${props.domainPrefix}'`,
      );
    }
    const names = props.clients.map((c) => c.name);
    if (new Set(names).size !== names.length) throw new Error(`client names must be unique, got ${names.join(', ')}`);

    this.userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { username: true },
      accountRecovery: AccountRecovery.NONE,
      passwordPolicy: {
        minLength: 16,
        requireDigits: true,
        requireLowercase: true,
        requireUppercase: true,
        requireSymbols: true,
      },
      deletionProtection: false,
      removalPolicy: props.removalPolicy,
    });
    Validations.of(this.userPool).acknowledge(
      {
        id: 'AwsSolutions-COG2',
        reason:
          'Machine clients use client credentials; the few analysts and operators are created by an administrator (no self sign-up). Required MFA for them is a follow-up: CloudFormation cannot reliably switch an existing pool to MfaConfiguration ON (cloudformation-coverage-roadmap#1176).',
      },
      {
        id: 'AwsSolutions-COG8',
        reason:
          'The Plus plan adds threat protection for user sign-ins: not bought for a handful of administrator-created console users; machine clients gain nothing from it.',
      },
      {
        id: 'AwsSolutions-COG3',
        reason:
          'Threat protection (Plus plan) is not enabled for the handful of administrator-created console users; see COG8.',
      },
    );

    const scopes = Object.entries(apiScopes((props.predictModels ?? []).map((name) => ({ name })))).map(
      ([full, description]) =>
        new ResourceServerScope({ scopeName: full.split('/')[1] ?? full, scopeDescription: description }),
    );
    this.scopeByName = new Map(scopes.map((s) => [s.scopeName, s]));
    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: RESOURCE_SERVER,
      userPoolResourceServerName: 'AIMS API',
      scopes,
    });

    const domain = this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: props.domainPrefix } });

    // The group names are the `cognito:groups` values the authorizer maps to scopes: a contract, hence named.
    const groups: Record<string, CfnUserPoolGroup> = {};
    for (const [name, group] of Object.entries(PEOPLE_GROUPS)) {
      groups[name] = new CfnUserPoolGroup(this, `Group-${name}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: name,
        description: group.description,
      });
    }
    this.groups = groups;

    const clients: Record<string, UserPoolClient> = {};
    for (const client of props.clients) {
      const oauthScopes = this.oauthScopes(client.scopes, `client ${client.name} asks for`);
      clients[client.name] = this.userPool.addClient(`Client-${client.name}`, {
        userPoolClientName: client.name,
        generateSecret: true,
        authFlows: {},
        oAuth: { flows: { clientCredentials: true }, scopes: oauthScopes },
        accessTokenValidity: props.accessTokenValidity ?? Duration.hours(1),
        enableTokenRevocation: true,
        preventUserExistenceErrors: true,
      });
    }
    this.clients = clients;

    this.issuer = this.userPool.userPoolProviderUrl;
    this.jwksUri = `${this.issuer}/.well-known/jwks.json`;
    this.domain = domain;
    this.tokenUrl = `${domain.baseUrl()}/oauth2/token`;
  }

  /** The resource server's scopes by name, for another app client of the pool (the console's, in its own stack). */
  oauthScopes(names: readonly ApiScopeName[], who = 'oauthScopes got an'): OAuthScope[] {
    return names.map((name) => {
      const scope = this.scopeByName.get(name);
      if (!scope) throw new Error(`${who} unknown scope '${name}'`);
      return OAuthScope.resourceServer(this.resourceServer, scope);
    });
  }
}
