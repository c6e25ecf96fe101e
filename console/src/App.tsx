// The signed-in console: header, navigation and the pages (hash routes, so the same build works at /console/ and /).
import type { User, UserManager } from 'oidc-client-ts';
import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { HashRouter, Navigate, NavLink, Route, Routes } from 'react-router';
import type { ConsoleConfig } from '../../lambdas/shared/contracts/console.js';
import { createApi } from './api.js';
import { displayName, signIn, signOut, tokenScopes } from './auth.js';
import { DecisionsPage } from './pages/DecisionsPage.js';
import { REVIEW_SCOPE, SessionContext } from './session.js';
import { ErrorAlert, PageHeading } from './ui.js';

// The pages with charts load when first opened: recharts is most of the bundle, and the queue (where analysts land)
// needs none of it.
const DecisionPage = lazy(() => import('./pages/DecisionPage.js').then((m) => ({ default: m.DecisionPage })));
const ModelsPage = lazy(() => import('./pages/ModelsPage.js').then((m) => ({ default: m.ModelsPage })));
const ModelPage = lazy(() => import('./pages/ModelPage.js').then((m) => ({ default: m.ModelPage })));
const LivePage = lazy(() => import('./pages/LivePage.js').then((m) => ({ default: m.LivePage })));

export function App(props: { config: ConsoleConfig; manager: UserManager; signinError?: unknown }) {
  const { config, manager } = props;
  const [user, setUser] = useState<User | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(props.signinError);

  useEffect(() => {
    let live = true;
    const resume = async (): Promise<User | null> => {
      const stored = await manager.getUser();
      if (!stored?.expired) return stored;
      // Back after the access token expired: the refresh token gets a new one, else sign in again.
      return stored.refresh_token ? manager.signinSilent().catch(() => null) : null;
    };
    resume().then(
      (u) => live && setUser(u),
      (e: unknown) => {
        if (!live) return;
        setError(e);
        setUser(null);
      },
    );
    const loaded = (u: User) => setUser(u);
    const gone = () => setUser(null);
    const renewFailed = (e: Error) => setError(e);
    manager.events.addUserLoaded(loaded);
    manager.events.addUserUnloaded(gone);
    manager.events.addSilentRenewError(renewFailed);
    return () => {
      live = false;
      manager.events.removeUserLoaded(loaded);
      manager.events.removeUserUnloaded(gone);
      manager.events.removeSilentRenewError(renewFailed);
    };
  }, [manager]);

  const session = useMemo(() => {
    if (!user) return undefined;
    const api = createApi(
      config.apiUrl,
      () => user.access_token,
      async () => (await manager.signinSilent().catch(() => null))?.access_token,
    );
    return { config, api, userName: displayName(user), scopes: tokenScopes(user) };
  }, [config, manager, user]);

  if (user === undefined) return <p className="muted">Starting…</p>;
  if (!session) {
    return (
      <main className="signin">
        <PageHeading title="Sign in">AIMS console — {config.stage}</PageHeading>
        <p>Analysts work the review queue; operators approve model versions. Sign in with your account.</p>
        <ErrorAlert error={error} what="Signing in" />
        <button type="button" className="primary" onClick={() => signIn(manager).catch((e: unknown) => setError(e))}>
          Sign in
        </button>
      </main>
    );
  }
  // People who work cases start at the queue; the others (operators) at the decisions they may read.
  const landing = session.scopes.includes(REVIEW_SCOPE) ? '/queue' : '/decisions';
  return (
    <SessionContext.Provider value={session}>
      <HashRouter>
        <button type="button" className="skip" onClick={skipToMain}>
          Skip to content
        </button>
        <header className="top">
          <span className="brand">AIMS console</span>
          <span className="stage">{config.stage}</span>
          <nav aria-label="Main">
            <ul>
              <li>
                <NavLink to="/queue">Review queue</NavLink>
              </li>
              <li>
                <NavLink to="/decisions">All decisions</NavLink>
              </li>
              <li>
                <NavLink to="/models">Models</NavLink>
              </li>
              <li>
                <NavLink to="/live">Live</NavLink>
              </li>
            </ul>
          </nav>
          <span className="who">
            Signed in as <strong>{session.userName}</strong>
          </span>
          <button type="button" onClick={() => signOut(manager, config).catch((e: unknown) => setError(e))}>
            Sign out
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          <ErrorAlert error={error} what="Renewing your sign-in" />
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <Routes>
              <Route path="/" element={<Navigate to={landing} replace />} />
              <Route path="/queue" element={<DecisionsPage mode="queue" />} />
              <Route path="/decisions" element={<DecisionsPage mode="all" />} />
              <Route path="/decisions/:id" element={<DecisionPage />} />
              <Route path="/models" element={<ModelsPage />} />
              <Route path="/models/:name" element={<ModelPage />} />
              <Route path="/live" element={<LivePage />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </main>
      </HashRouter>
    </SessionContext.Provider>
  );
}

/** Skips the navigation: a button, not a `#main` link, because the router owns the hash. */
function skipToMain() {
  document.getElementById('main')?.focus();
}

function NotFound() {
  return (
    <>
      <PageHeading title="Not found">Page not found</PageHeading>
      <p>
        There is no such page. <NavLink to="/queue">Go to the review queue</NavLink>.
      </p>
    </>
  );
}
