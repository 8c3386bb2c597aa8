// Sign in with name + password (POST /auth/login) or with an API token (checked with
// GET /auth/me). The token is kept in sessionStorage for this browser tab.
import { useState, type FormEvent } from 'react';
import { Navigate, useLocation } from 'react-router';
import { ApiError } from '../../api/client';
import { useAuth } from '../../auth/AuthContext';
import { useT } from '../../i18n';
import { ErrorBox } from '../../components/Feedback';
import { LanguageSwitch } from '../../components/Layout';
import { Field } from '../../components/Field';

type Mode = 'password' | 'token';

export function LoginPage() {
  const t = useT();
  const { status, reason, signInWithPassword, signInWithToken } = useAuth();
  const location = useLocation();
  const [mode, setMode] = useState<Mode>('password');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);

  const from = (location.state as { from?: string } | null)?.from || '/';
  if (status === 'signed_in') return <Navigate to={from} replace />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      if (mode === 'password') await signInWithPassword(name.trim(), password);
      else await signInWithToken(token.trim());
    } catch (err) {
      if (err instanceof ApiError && mode === 'password' && (err.status === 404 || err.status === 405)) {
        setError(new Error(t('login.passwordUnavailable')));
      } else if (err instanceof ApiError && mode === 'token' && err.status === 401) {
        setError(new Error(t('login.tokenRejected')));
      } else {
        setError(err);
      }
    } finally {
      setBusy(false);
    }
  };

  const tab = (m: Mode, label: string) => (
    <button
      type="button"
      role="tab"
      id={`login-tab-${m}`}
      aria-selected={mode === m}
      aria-controls="login-panel"
      className={mode === m ? 'tab active' : 'tab'}
      onClick={() => {
        setMode(m);
        setError(null);
      }}
    >
      {label}
    </button>
  );

  return (
    <div className="login-page">
      <div className="login-lang">
        <LanguageSwitch />
      </div>
      <div className="login-card">
        <div className="login-brand">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <div>
            <h1>Sextant</h1>
            <p className="muted">{t('app.subtitle')}</p>
          </div>
        </div>
        {reason === 'session_expired' && <p className="notice">{t('login.sessionExpired')}</p>}
        {reason === 'signed_out' && <p className="notice">{t('login.signedOut')}</p>}
        {reason === 'server_unreachable' && <p className="notice">{t('login.serverUnreachable')}</p>}
        <div role="tablist" aria-label={t('login.mode')} className="tabs">
          {tab('password', t('login.withPassword'))}
          {tab('token', t('login.withToken'))}
        </div>
        <form id="login-panel" role="tabpanel" aria-labelledby={`login-tab-${mode}`} onSubmit={submit} className="form-stack">
          {mode === 'password' ? (
            <>
              <Field label={t('login.name')}>
                <input value={name} onChange={(e) => setName(e.target.value)} autoComplete="username" required autoFocus />
              </Field>
              <Field label={t('login.password')}>
                <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="current-password" required />
              </Field>
            </>
          ) : (
            <div className="field">
              <label htmlFor="login-token">{t('login.token')}</label>
              <input
                id="login-token"
                type="password"
                value={token}
                onChange={(e) => setToken(e.target.value)}
                autoComplete="off"
                spellCheck={false}
                aria-describedby="login-token-hint"
                required
                autoFocus
              />
              <small id="login-token-hint" className="muted">
                {t('login.tokenHint')}
              </small>
            </div>
          )}
          <ErrorBox error={error} title={t('login.failed')} />
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? t('login.signingIn') : mode === 'password' ? t('login.submit') : t('login.submitToken')}
          </button>
        </form>
      </div>
    </div>
  );
}
