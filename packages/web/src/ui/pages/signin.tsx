import { useState } from 'react';
import { type Actor, createApi } from '../../api.js';

/** Sign-in with an API token (kept in sessionStorage: gone when the tab closes). */
export function SignIn({ onToken }: { onToken: (token: string, actor: Actor) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  return (
    <div className="signin">
      <form
        className="card signin-card"
        onSubmit={async (e) => {
          e.preventDefault();
          const t = token.trim();
          if (!t) return setError('Paste an API token');
          setBusy(true);
          setError(null);
          try {
            onToken(t, await createApi(t).me());
          } catch (err) {
            setError((err as Error).message);
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>
          <span className="logo">⚡</span> Hotpatch
        </h1>
        <p className="muted">Security fixes applied in memory to running Node.js processes, no restart.</p>
        <label>
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            placeholder="hpt_…"
            value={token}
            onChange={(e) => setToken(e.target.value)}
          />
        </label>
        <p className="hint muted">
          The first server start writes an admin token to its data directory. Create more with{' '}
          <code>hotpatch tokens create</code> (roles: admin, operator, viewer).
        </p>
        {error && (
          <div className="state error" role="alert">
            {error}
          </div>
        )}
        <button type="submit" className="btn primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
