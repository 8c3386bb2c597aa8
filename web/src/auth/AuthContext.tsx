// The signed-in session: token (sessionStorage), the account from /auth/me, and what it may do.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { ApiError, getToken, onUnauthorized, setToken } from '../api/client';
import * as authApi from '../api/auth';
import type { Account, Permission } from '../api/auth';

type Status = 'checking' | 'signed_out' | 'signed_in';

interface AuthValue {
  status: Status;
  account: Account | null;
  /** Why the user is on the login page (e.g. "session_expired"). */
  reason: string | null;
  signInWithPassword: (name: string, password: string) => Promise<void>;
  signInWithToken: (token: string) => Promise<void>;
  signOut: () => Promise<void>;
  can: (p: Permission) => boolean;
  canOpenProject: (name: string) => boolean;
}

const AuthContext = createContext<AuthValue | null>(null);

// The stored token's check starts when this module is evaluated, not after the first render and
// its effects: every page waits for it. Shared by the provider's first mount (and StrictMode's
// second one). When it has succeeded before the first render (main.tsx renders once the page's
// code is there), the console starts signed in, without a render of the "checking" state.
const startupCheck: { token: string; account: Promise<Account>; ok?: Account } | null = (() => {
  const token = getToken();
  if (!token) return null;
  const account = authApi.me(token);
  const check: { token: string; account: Promise<Account>; ok?: Account } = { token, account };
  account.then(
    (a) => (check.ok = a),
    () => undefined, // handled by the provider
  );
  return check;
})();

/** The account of the startup check, when it has already succeeded for the stored token. */
function checkedAccount(): Account | null {
  return startupCheck?.ok && startupCheck.token === getToken() ? startupCheck.ok : null;
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>(() => (checkedAccount() ? 'signed_in' : getToken() ? 'checking' : 'signed_out'));
  const [account, setAccount] = useState<Account | null>(checkedAccount);
  const [reason, setReason] = useState<string | null>(null);

  // A stored token (page reload): check it again.
  useEffect(() => {
    const token = getToken();
    if (!token) return;
    let cancelled = false;
    (startupCheck?.token === token ? startupCheck.account : authApi.me(token))
      .then((a) => {
        if (cancelled) return;
        setAccount(a);
        setStatus('signed_in');
      })
      .catch((e) => {
        if (cancelled) return;
        // A token the server refuses is dropped; an unreachable server keeps it for a retry.
        if (e instanceof ApiError && e.status === 401) {
          setToken(null);
          setReason('session_expired');
        } else {
          setReason('server_unreachable');
        }
        setStatus('signed_out');
      });
    return () => {
      cancelled = true;
    };
  }, []);

  // Any 401 from a signed-in call: back to the login page.
  useEffect(() => {
    onUnauthorized(() => {
      setToken(null);
      setAccount(null);
      setStatus('signed_out');
      setReason('session_expired');
    });
    return () => onUnauthorized(null);
  }, []);

  const signInWithToken = useCallback(async (token: string) => {
    const a = await authApi.me(token);
    setToken(token);
    setAccount(a);
    setReason(null);
    setStatus('signed_in');
  }, []);

  const signInWithPassword = useCallback(async (name: string, password: string) => {
    const r = await authApi.login(name, password);
    setToken(r.token);
    setAccount(r.account);
    setReason(null);
    setStatus('signed_in');
  }, []);

  const signOut = useCallback(async () => {
    try {
      await authApi.logout();
    } catch {
      /* the server may not know /auth/logout yet, or the session is gone already */
    }
    setToken(null);
    setAccount(null);
    setReason('signed_out');
    setStatus('signed_out');
  }, []);

  const value = useMemo<AuthValue>(() => {
    const perms = new Set(account?.permissions || []);
    const can = (p: Permission) => perms.has('admin') || perms.has(p);
    const canOpenProject = (name: string) => !!account && (account.projects.includes('*') || account.projects.includes(name));
    return { status, account, reason, signInWithPassword, signInWithToken, signOut, can, canOpenProject };
  }, [status, account, reason, signInWithPassword, signInWithToken, signOut]);

  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
