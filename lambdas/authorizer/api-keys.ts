// The usage-plan API key of an app client: the ApiKey whose CustomerId is the Cognito app client id, read with API
// Gateway's GetApiKeys (includeValues) and cached, so a client added in any stack needs no authorizer redeploy.
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
// The SigV4 signer every SDK v3 client uses (installed with them): one GET needs no whole API Gateway client.
import { SignatureV4 } from '@smithy/signature-v4';
import type { ApiKeyDirectory } from './core.js';

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data)
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 / HMAC-SHA-256 in the shape the signer takes, over node:crypto. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface GetApiKeysProps {
  readonly region: string;
  /** `AWS_ENDPOINT_URL_API_GATEWAY` when set (the local stage), else the regional endpoint. */
  readonly endpoint?: string;
  /** The function's credentials (Lambda puts them in the environment). */
  readonly credentials: () => { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  readonly timeoutMs?: number;
}

interface ApiKeyItem {
  readonly value?: string;
  readonly customerId?: string;
  readonly enabled?: boolean;
}

/** GetApiKeys?customerId=<client id>&includeValues=true: the enabled key of that client, if it has one. */
export function getApiKeysDirectory(props: GetApiKeysProps): ApiKeyDirectory {
  const base = new URL(props.endpoint ?? `https://apigateway.${props.region}.amazonaws.com`);
  const signer = new SignatureV4({
    service: 'apigateway',
    region: props.region,
    credentials: async () => props.credentials(),
    sha256: Sha256,
  });
  return {
    async keyOf(clientId) {
      const path = `${base.pathname.replace(/\/$/, '')}/apikeys`;
      const query = { customerId: clientId, includeValues: 'true', limit: '500' };
      const signed = await signer.sign({
        method: 'GET',
        protocol: base.protocol,
        hostname: base.hostname,
        ...(base.port ? { port: Number(base.port) } : {}),
        path,
        query,
        headers: { host: base.host, accept: 'application/json' },
      });
      const url = `${base.origin}${path}?${new URLSearchParams(query)}`;
      const response = await fetch(url, {
        headers: signed.headers as Record<string, string>,
        signal: AbortSignal.timeout(props.timeoutMs ?? 3_000),
      });
      if (response.status !== 200) {
        throw new Error(`GetApiKeys answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      }
      const body = (await response.json()) as { item?: ApiKeyItem[] };
      return (body.item ?? []).find((k) => k.customerId === clientId && k.enabled !== false && k.value)?.value;
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
