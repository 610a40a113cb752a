import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { type Actor, ApiError, createApi, type LiveEvent } from '../api.js';
import { atLeast, ErrorBox, Link, Loading, type Session, SessionContext, usePath } from './kit.js';
import { AdvisoriesPage } from './pages/advisories.js';
import { AuditPage } from './pages/audit.js';
import { CalendarPage } from './pages/calendar.js';
import { CatalogPage, PatchPage } from './pages/catalog.js';
import { DeploymentPage, DeploymentsPage } from './pages/deployments.js';
import { DevicePage, DevicesPage } from './pages/devices.js';
import { OverviewPage } from './pages/overview.js';
import { PoliciesPage } from './pages/policies.js';
import { ReportsPage } from './pages/reports.js';
import { SignIn } from './pages/signin.js';

const TOKEN_KEY = 'hotpatch.token';

const NAV: Array<[string, string]> = [
  ['/', 'Overview'],
  ['/devices', 'Devices'],
  ['/advisories', 'Vulnerabilities'],
  ['/catalog', 'Catalog'],
  ['/policies', 'Policies & rings'],
  ['/deployments', 'Deployments'],
  ['/reports', 'Reports'],
  ['/calendar', 'Calendar'],
  ['/audit', 'Audit log'],
];

function route(path: string) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [a, b] = parts;
  if (!a) return <OverviewPage />;
  if (a === 'devices') return b ? <DevicePage id={b} /> : <DevicesPage />;
  if (a === 'catalog') return b ? <PatchPage patchId={b} /> : <CatalogPage />;
  if (a === 'policies') return <PoliciesPage />;
  if (a === 'deployments') return b ? <DeploymentPage id={b} /> : <DeploymentsPage />;
  if (a === 'calendar') return <CalendarPage />;
  if (a === 'audit') return <AuditPage />;
  if (a === 'advisories') return <AdvisoriesPage />;
  if (a === 'reports') return <ReportsPage />;
  return (
    <div className="state empty">
      <strong>Nothing here</strong> <Link to="/">Go to the overview</Link>
    </div>
  );
}

export function App() {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [actor, setActor] = useState<Actor | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [live, setLive] = useState(false);
  const path = usePath();
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const subs = useRef(new Set<(e: LiveEvent) => void>());

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setActor(null);
    setError(null);
  }, []);

  useEffect(() => {
    if (!api) return;
    let cancelled = false;
    setError(null);
    api.me().then(
      (a) => !cancelled && setActor(a),
      (e: Error) => {
        if (cancelled) return;
        if (e instanceof ApiError && e.status === 401) signOut();
        else setError(e);
      },
    );
    const stop = api.subscribe(
      (e) => {
        for (const fn of subs.current) fn(e);
      },
      (l) => !cancelled && setLive(l),
    );
    return () => {
      cancelled = true;
      stop();
    };
  }, [api, signOut]);

  const onLive = useCallback((fn: (e: LiveEvent) => void) => {
    subs.current.add(fn);
    return () => {
      subs.current.delete(fn);
    };
  }, []);

  const session: Session | null = useMemo(
    () => (api && actor ? { api, actor, can: (r) => atLeast(actor.role, r), signOut, onLive, live } : null),
    [api, actor, signOut, onLive, live],
  );

  if (!token)
    return (
      <SignIn
        onToken={(t, a) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setActor(a);
          setToken(t);
        }}
      />
    );
  if (!session)
    return (
      <div className="center">
        {error ? (
          <ErrorBox error={error} retry={() => setToken(sessionStorage.getItem(TOKEN_KEY))} />
        ) : (
          <Loading what="Signing in" />
        )}
        {error && (
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        )}
      </div>
    );

  const section = `/${path.split('/')[1] ?? ''}`;
  return (
    <SessionContext.Provider value={session}>
      <div className="shell">
        <nav className="side">
          <div className="brand">
            <span className="logo">⚡</span> Hotpatch
          </div>
          {NAV.map(([to, label]) => (
            <Link key={to} to={to} className={section === to ? 'nav active' : 'nav'}>
              {label}
            </Link>
          ))}
          <div className="side-foot">
            <div
              className={live ? 'live on' : 'live'}
              title="Live updates pushed by the server"
              data-testid="live"
            >
              <span className="dot" /> {live ? 'Live' : 'Reconnecting…'}
            </div>
            <div className="who" data-testid="who">
              {session.actor.name}{' '}
              <span className={`badge role ${session.actor.role}`}>{session.actor.role}</span>
            </div>
            <button type="button" className="link" onClick={signOut}>
              Sign out
            </button>
          </div>
        </nav>
        <main className="main">{route(path)}</main>
      </div>
    </SessionContext.Provider>
  );
}
