// The usage-plan API key of an app client: the ApiKey whose CustomerId is the Cognito app client id, read with API
// Gateway's GetApiKeys (includeValues) and cached, so a client added in any stack needs no authorizer redeploy.
import { type APIGatewayClient, GetApiKeysCommand } from '@aws-sdk/client-api-gateway';
import type { ApiKeyDirectory } from './core.js';

/** GetApiKeys(customerId = client id, includeValues): the enabled key of that client, if it has one. */
export function getApiKeysDirectory(client: APIGatewayClient): ApiKeyDirectory {
  return {
    async keyOf(clientId) {
      const { items = [] } = await client.send(
        new GetApiKeysCommand({ customerId: clientId, includeValues: true, limit: 500 }),
      );
      return items.find((k) => k.customerId === clientId && k.enabled !== false && k.value)?.value;
    },
  };
}

/** Remembers each client's key for `ttlMs` (a missing key for `missingTtlMs`, so a new client works soon). */
export function cachedApiKeys(
  inner: ApiKeyDirectory,
  o: { ttlMs?: number; missingTtlMs?: number; max?: number; now?: () => number } = {},
): ApiKeyDirectory {
  const ttl = o.ttlMs ?? 300_000;
  const missingTtl = o.missingTtlMs ?? 30_000;
  const max = o.max ?? 1_000;
  const now = o.now ?? Date.now;
  const cache = new Map<string, { value: Promise<string | undefined>; expires: number }>();
  return {
    keyOf(clientId) {
      const hit = cache.get(clientId);
      if (hit && hit.expires > now()) return hit.value;
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      const value = inner.keyOf(clientId);
      const entry = { value, expires: now() + ttl };
      cache.set(clientId, entry);
      value.then(
        (v) => {
          if (v === undefined) entry.expires = now() + missingTtl;
        },
        // A failed lookup is not remembered: the next request asks again.
        () => cache.delete(clientId),
      );
      return value;
    },
  };
}
