// The TokenVerifier over aws-jwt-verify: JWKS fetched with the runtime's fetch so a local http:// key set works too.
import { JwtVerifier } from 'aws-jwt-verify';
import { FetchError, JwksValidationError, JwtBaseError } from 'aws-jwt-verify/error';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { type TokenVerifier, UnauthorizedReason } from './core.js';

/** aws-jwt-verify's own fetcher is https-only; the local stage serves its key set on http://127.0.0.1. */
export class GlobalFetcher implements Fetcher {
  constructor(private readonly timeoutMs = 3_000) {}
  async fetch(uri: string): Promise<ArrayBuffer> {
    const response = await fetch(uri, { signal: AbortSignal.timeout(this.timeoutMs) });
    if (response.status !== 200) throw new FetchError(uri, `status code is ${response.status}, expected 200`);
    return response.arrayBuffer();
  }
}

export interface JwtTokenVerifierProps {
  readonly issuer: string;
  readonly jwksUri: string;
}

/** Verifies signature (RS256 from the JWKS), issuer and expiry; claim checks beyond that are the core's. */
export function jwtTokenVerifier(props: JwtTokenVerifierProps): TokenVerifier {
  const verifier = JwtVerifier.create(
    // Cognito access tokens carry no `aud`; the core checks `client_id` instead.
    { issuer: props.issuer, jwksUri: props.jwksUri, audience: null },
    { jwksCache: new SimpleJwksCache({ fetcher: new GlobalFetcher() }) },
  );
  return {
    async verify(token) {
      try {
        return (await verifier.verify(token)) as Record<string, unknown>;
      } catch (error) {
        // An unreachable or broken key set is our outage (500), not the caller's bad token (401).
        if (error instanceof FetchError || error instanceof JwksValidationError) throw error;
        if (error instanceof JwtBaseError) throw new UnauthorizedReason(error.message);
        throw error;
      }
    },
  };
}
