// The API's OAuth2 clients: who may call which routes. Each gets a Cognito app client and a usage-plan API key.
export const API_SCOPE_NAMES = ['score', 'ingest', 'feedback', 'read', 'review', 'admin'] as const;
/** A fixed scope, or `predict.<model>` for a real-time model's predict route (the model must be served). */
export type ApiScopeName = (typeof API_SCOPE_NAMES)[number] | `predict.${string}`;

export interface ApiClientConfig {
  /** Kebab-case name; the local stage mints tokens for it by this name. */
  readonly name: string;
  /** Scopes (resource server `aims`) the client may request. */
  readonly scopes: readonly ApiScopeName[];
  readonly description: string;
}

export const API_CLIENTS = [
  {
    name: 'merchant-gateway',
    scopes: ['score', 'ingest'],
    description: 'Card authorisation path: scores and streams transactions',
  },
  { name: 'chargeback-feed', scopes: ['feedback'], description: 'Reports chargebacks and confirmed fraud' },
  {
    name: 'analyst-console',
    scopes: ['read', 'feedback', 'review'],
    description: 'Fraud analysts: reads decisions, labels cases, works the review queue',
  },
  { name: 'operator', scopes: ['read', 'admin'], description: 'Platform operators: model lifecycle' },
  {
    name: 'risk-ops',
    scopes: ['predict.merchant-risk'],
    description: 'Merchant risk team: on-demand merchant-risk predictions',
  },
] as const satisfies readonly ApiClientConfig[];
