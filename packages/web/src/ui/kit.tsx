/** Small shared pieces: session + live context, router, data hook, states, badges, formatting. */
import {
  type AnchorHTMLAttributes,
  createContext,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';
import { type Actor, type Api, ApiError, type LiveEvent, type Role } from '../api.js';

// ---- session ---------------------------------------------------------------------------------
export interface Session {
  api: Api;
  actor: Actor;
  /** At least this role (admin > operator > viewer). */
  can(role: Role): boolean;
  signOut(): void;
  /** Subscribe to pushed server events; returns the unsubscribe. */
  onLive(fn: (e: LiveEvent) => void): () => void;
  live: boolean;
}
export const SessionContext = createContext<Session | null>(null);
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('no session');
  return s;
}
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const atLeast = (have: Role, need: Role) => RANK[have] >= RANK[need];

// ---- router (history API; the server falls back to index.html) -------------------------------
const listeners = new Set<() => void>();
export function navigate(to: string): void {
  if (to === location.pathname + location.search) return;
  history.pushState(null, '', to);
  for (const l of listeners) l();
}
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const on = () => setPath(location.pathname);
    listeners.add(on);
    window.addEventListener('popstate', on);
    return () => {
      listeners.delete(on);
      window.removeEventListener('popstate', on);
    };
  }, []);
  return path;
}
export function Link({ to, children, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  return (
    <a
      href={to}
      {...rest}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(to);
      }}
    >
      {children}
    </a>
  );
}

// ---- data ------------------------------------------------------------------------------------
export interface Data<T> {
  data: T | undefined;
  error: Error | null;
  loading: boolean;
  reload(): void;
}
/**
 * Loads `fn` and re-loads it when `deps` change, when a pushed event passes `live`, or every
 * `pollMs` (for what the server does not push, e.g. devices connecting).
 */
export function useData<T>(
  fn: (api: Api) => Promise<T>,
  deps: readonly unknown[],
  opts: { live?: (e: LiveEvent) => boolean; pollMs?: number } = {},
): Data<T> {
  const { api, onLive } = useSession();
  const [state, setState] = useState<{ data: T | undefined; error: Error | null; loading: boolean }>({
    data: undefined,
    error: null,
    loading: true,
  });
  const seq = useRef(0);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  const liveRef = useRef(opts.live);
  liveRef.current = opts.live;
  const load = useCallback(() => {
    const my = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    fnRef.current(api).then(
      (data) => my === seq.current && setState({ data, error: null, loading: false }),
      (error: Error) => my === seq.current && setState((s) => ({ data: s.data, error, loading: false })),
    );
  }, [api, ...deps]);
  useEffect(() => {
    setState({ data: undefined, error: null, loading: true });
    load();
  }, [load]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const off = onLive((e) => {
      if (!liveRef.current?.(e)) return;
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        load();
      }, 120);
    });
    return () => {
      off();
      if (timer) clearTimeout(timer);
    };
  }, [onLive, load]);
  useEffect(() => {
    if (!opts.pollMs) return;
    const t = setInterval(load, opts.pollMs);
    return () => clearInterval(t);
  }, [opts.pollMs, load]);
  return { ...state, reload: load };
}

/** Renders loading / error / content for a Data. */
export function Loaded<T>({ d, children }: { d: Data<T>; children: (data: T) => ReactNode }) {
  if (d.data === undefined) {
    if (d.error) return <ErrorBox error={d.error} retry={d.reload} />;
    return <Loading />;
  }
  return (
    <>
      {d.error && <ErrorBox error={d.error} retry={d.reload} stale />}
      {children(d.data)}
    </>
  );
}
export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div className="state loading" aria-live="polite">
      <span className="spinner" /> {what}…
    </div>
  );
}
export function ErrorBox({ error, retry, stale }: { error: Error; retry?: () => void; stale?: boolean }) {
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div className="state error" role="alert">
      <strong>{stale ? 'Could not refresh' : 'Could not load'}</strong>: {error.message}
      {code && <code className="muted"> {code}</code>}
      {retry && (
        <button type="button" className="link" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}
export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <strong>{title}</strong>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** A button that runs an API action, shows progress and the refusal. */
export function Action({
  run,
  children,
  confirm: ask,
  className,
  onDone,
  testId,
}: {
  run: () => Promise<unknown>;
  children: ReactNode;
  confirm?: string;
  className?: string;
  onDone?: () => void;
  testId?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<string | null>(null);
  return (
    <span className="action">
      <button
        type="button"
        className={className ?? 'btn'}
        disabled={busy}
        data-testid={testId}
        onClick={async () => {
          if (ask && !window.confirm(ask)) return;
          setBusy(true);
          setErr(null);
          try {
            await run();
            onDone?.();
          } catch (e) {
            setErr((e as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? '…' : children}
      </button>
      {err && <span className="inline-error">{err}</span>}
    </span>
  );
}

// ---- presentation ----------------------------------------------------------------------------
const STATE_TONE: Record<string, string> = {
  'up-to-date': 'good',
  'not-up-to-date': 'bad',
  'in-progress': 'info',
  'not-eligible': 'warn',
  completed: 'good',
  applied: 'good',
  hotpatched: 'good',
  upToDate: 'good',
  eligible: 'good',
  connected: 'good',
  active: 'info',
  applying: 'info',
  scheduled: 'info',
  inProgress: 'info',
  pending: 'warn',
  paused: 'warn',
  ineligible: 'warn',
  notReady: 'warn',
  reverted: 'muted',
  superseded: 'muted',
  'not-applicable': 'muted',
  disconnected: 'muted',
  failed: 'bad',
  notUpToDate: 'bad',
  revoked: 'bad',
  critical: 'bad',
  high: 'warn',
  moderate: 'info',
  low: 'muted',
};
export function Badge({ value, label }: { value: string; label?: string }) {
  return (
    <span className={`badge ${STATE_TONE[value] ?? 'muted'}`} data-state={value}>
      {label ?? value}
    </span>
  );
}
export const COLORS: Record<string, string> = {
  applied: '#2f9e44',
  hotpatched: '#2f9e44',
  upToDate: '#8ce99a',
  scheduled: '#74c0fc',
  applying: '#1c7ed6',
  inProgress: '#1c7ed6',
  pending: '#f59f00',
  paused: '#ffd43b',
  ineligible: '#e8590c',
  notReady: '#e8590c',
  failed: '#e03131',
  notUpToDate: '#e03131',
  reverted: '#868e96',
  superseded: '#adb5bd',
  'not-applicable': '#ced4da',
};
export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? String(iso)
    : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
export function fmtAgo(iso: string | null | undefined): string {
  if (!iso) return '—';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
export function fmtHours(h: number | null | undefined): string {
  if (h === null || h === undefined) return '—';
  if (h < 1 / 60) return `${Math.round(h * 3600)} s`;
  if (h < 1) return `${Math.round(h * 60)} min`;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} d`;
}
export function labelsText(l: Record<string, string>): string {
  return Object.entries(l)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
export function PageHead({ title, sub, children }: { title: string; sub?: ReactNode; children?: ReactNode }) {
  return (
    <header className="page-head">
      <div>
        <h1>{title}</h1>
        {sub && <p className="muted">{sub}</p>}
      </div>
      <div className="page-actions">{children}</div>
    </header>
  );
}
