// The usage-plan API key of one Cognito app client: an ApiKey whose CustomerId is the client's id, on the API's usage
// plan. The authorizer finds a token's key by that CustomerId (GetApiKeys), so a client added in any stack — the
// console's client lives in the console stack — is metered as itself without redeploying the authorizer.
import { ApiKey, CfnUsagePlanKey, type IUsagePlan } from 'aws-cdk-lib/aws-apigateway';
import type { IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';

export interface ClientApiKeyProps {
  readonly client: IUserPoolClient;
  /** The API's usage plan (`ScoringApi.usagePlan`). */
  readonly usagePlan: IUsagePlan;
  /** Says whose key it is. @default - 'API key of an app client' */
  readonly description?: string;
}

export class ClientApiKey extends Construct {
  public readonly apiKey: ApiKey;

  constructor(scope: Construct, id: string, props: ClientApiKeyProps) {
    super(scope, id);
    this.apiKey = new ApiKey(this, 'Key', {
      customerId: props.client.userPoolClientId,
      description: props.description ?? 'API key of an app client',
      enabled: true,
    });
    // A UsagePlanKey in this construct's stack (not the plan's addApiKey, which adds it to the plan's stack): another
    // stack can add its client's key without the API's stack depending on it.
    new CfnUsagePlanKey(this, 'PlanKey', {
      keyId: this.apiKey.keyId,
      keyType: 'API_KEY',
      usagePlanId: props.usagePlan.usagePlanId,
    });
  }
}
