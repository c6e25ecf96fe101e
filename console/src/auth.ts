// People sign in with the authorization-code flow and PKCE against the stage's issuer (Cognito on AWS, the local
// issuer locally); the tokens live in sessionStorage, are renewed with the refresh token, and go away on sign-out.
import { type User, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import { effectiveScopes } from '../../lambdas/shared/contracts/people.js';

/** The app's own index URL (no query, no hash, no index.html): where the issuer sends people back, at /console/ or /. */
export function appUrl(): string {
  return `${window.location.origin}${window.location.pathname.replace(/index\.html$/, '')}`;
}

export function createUserManager(config: ConsoleConfig): UserManager {
  const store = new WebStorageStateStore({ store: window.sessionStorage });
  return new UserManager({
    authority: config.auth.authority,
    client_id: config.auth.clientId,
    redirect_uri: appUrl(),
    post_logout_redirect_uri: appUrl(),
    response_type: 'code',
    scope: config.auth.scopes.join(' '),
    userStore: store,
    stateStore: store,
    // Renews with the refresh token before the access token expires (no hidden iframe: the issuer sets no cookies).
    automaticSilentRenew: true,
  });
}

/** True when the URL is the issuer's answer to a sign-in (`?code=…&state=…`, or `?error=…&state=…`). */
export function isSigninCallback(): boolean {
  const query = new URLSearchParams(window.location.search);
  return query.has('state') && (query.has('code') || query.has('error'));
}

/** Completes a sign-in the issuer answered, then drops the code from the address bar and returns to the page asked for. */
export async function completeSignin(manager: UserManager): Promise<User> {
  const user = await manager.signinRedirectCallback();
  const returnTo = typeof user.state === 'string' && user.state.startsWith('#/') ? user.state : '#/';
  window.history.replaceState(null, '', `${appUrl()}${returnTo}`);
  return user;
}

export function signIn(manager: UserManager): Promise<void> {
  return manager.signinRedirect({ state: window.location.hash || '#/' });
}

export async function signOut(manager: UserManager, config: ConsoleConfig): Promise<void> {
  await manager.removeUser();
  if (config.auth.logoutUrl) {
    // Cognito's /logout takes the client id and where to go after (it is not in the discovery document).
    const url = new URL(config.auth.logoutUrl);
    url.searchParams.set('client_id', config.auth.clientId);
    url.searchParams.set('logout_uri', appUrl());
    window.location.assign(url.toString());
    return;
  }
  window.location.assign(appUrl());
}

/**
 * What the API will let this person do: the access token's scopes narrowed to those their groups grant
 * (`effectiveScopes`, the authorizer's own rule). On AWS the console client's token lists every scope the client asked
 * for, whatever the person's groups; the authorizer intersects, and so does the app. A token that cannot be read
 * grants nothing here (the API still decides).
 */
export function tokenScopes(user: User): readonly string[] {
  try {
    const payload = user.access_token.split('.')[1] ?? '';
    const claims = JSON.parse(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
    return [...effectiveScopes(claims)];
  } catch {
    return [];
  }
}

/** The signed-in person's name as the issuer tells it. */
export function displayName(user: User): string {
  const p = user.profile as Record<string, unknown>;
  const name = p['cognito:username'] ?? p.username ?? p.preferred_username ?? p.email ?? user.profile.sub;
  return String(name);
}
