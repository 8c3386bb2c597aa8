// Settings (设置): projects (list, create for admins, the SDK endpoints), the project's
// personal-data classification (GET·PUT /projects/{p}/pii), the signed-in account's API tokens
// (GET·POST·DELETE /auth/tokens; the token text is shown once) and its password
// (POST /auth/password). Accounts and roles live at /accounts (linked for admins).
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { ALL_PERMISSIONS } from '../../api/auth';
import {
  changePassword,
  createProject,
  createToken,
  getPii,
  listTokens,
  putPii,
  revokeToken,
  PII_KINDS,
  type ApiToken,
  type PiiKind,
  type PiiOverride,
} from '../../api/settings';
import { EmptyState, ErrorBox, Loading, NoPermission } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { Tabs } from '../../components/Tabs';
import './settings.css';

type TabKey = 'projects' | 'pii' | 'tokens' | 'password';
const TABS: TabKey[] = ['projects', 'pii', 'tokens', 'password'];

function Done({ text }: { text: string | null }) {
  if (!text) return null;
  return (
    <p className="success" role="status">
      {text}
    </p>
  );
}

function ProjectsTab() {
  const { t } = useI18n();
  const { can } = useAuth();
  const { projects, reload, setProject } = useProject();
  const [name, setName] = useState('');
  const [timeZone, setTimeZone] = useState('Asia/Shanghai');
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const origin = window.location.origin;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      const body = { name: name.trim(), time_zone: timeZone.trim() || undefined, token: token.trim() || undefined };
      await createProject(body);
      setDone(t('settings.projectCreated', { name: body.name }));
      setName('');
      setToken('');
      reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <div className="card">
        <h2 className="card-title">{t('settings.projectsList')}</h2>
        {projects.length === 0 ? (
          <EmptyState title={t('settings.noProjects')} />
        ) : (
          <div className="table-wrap">
            <table className="table" aria-label={t('settings.projectsList')}>
              <thead>
                <tr>
                  <th scope="col">{t('settings.projectName')}</th>
                  <th scope="col">{t('settings.timeZone')}</th>
                  <th scope="col">{t('settings.ingestToken')}</th>
                  <th scope="col">{t('settings.sdkEndpoints')}</th>
                  <th scope="col">{t('common.actions')}</th>
                </tr>
              </thead>
              <tbody>
                {projects.map((p) => (
                  <tr key={p.name}>
                    <td>
                      <strong>{p.name}</strong>
                    </td>
                    <td className="mono small">{p.time_zone || '—'}</td>
                    <td>{p.token_required ? t('settings.tokenRequired') : t('settings.tokenNone')}</td>
                    <td className="small">
                      <div>
                        <span className="muted">{t('settings.sdkSensors')}</span>{' '}
                        <code className="mono">{`${origin}/sa?project=${encodeURIComponent(p.name)}${p.token_required ? '&token=…' : ''}`}</code>
                      </div>
                      <div>
                        <span className="muted">{t('settings.sdkSegment')}</span> <code className="mono">{`${origin}/v1/batch`}</code>{' '}
                        <span className="muted">{t('settings.sdkSegmentKey', { key: p.token_required ? `${p.name}:…` : p.name })}</span>
                      </div>
                    </td>
                    <td>
                      <button type="button" className="btn btn-small" onClick={() => setProject(p.name)} aria-label={t('settings.openProjectNamed', { name: p.name })}>
                        {t('settings.openProject')}
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
      {can('admin') && (
        <div className="card">
          <h2 className="card-title">{t('settings.createProject')}</h2>
          <form className="form-stack" onSubmit={submit}>
            <div className="form-row">
              <Field label={t('settings.projectName')} hint={t('settings.projectNameHint')}>
                <input value={name} onChange={(e) => setName(e.target.value)} required autoComplete="off" />
              </Field>
              <Field label={t('settings.timeZone')} hint={t('settings.timeZoneHint')}>
                <input value={timeZone} onChange={(e) => setTimeZone(e.target.value)} />
              </Field>
              <Field label={t('settings.ingestToken')} hint={t('settings.ingestTokenHint')}>
                <input value={token} onChange={(e) => setToken(e.target.value)} autoComplete="off" />
              </Field>
            </div>
            <ErrorBox error={error} />
            <Done text={done} />
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={busy}>
                {t('settings.createProjectSubmit')}
              </button>
            </div>
          </form>
        </div>
      )}
    </>
  );
}

function PiiTab() {
  const { t, tx } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const admin = can('admin');
  const readable = can('data.read');
  const data = useAsync((s) => getPii(project as string, s), [project], !!project && readable);
  const [field, setField] = useState('');
  const [kind, setKind] = useState<PiiKind>('secret');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  if (!readable) return <NoPermission permission="data.read" />;

  const save = async (fields: Record<string, PiiOverride>, message: string) => {
    if (!project) return;
    setBusy(true);
    setError(null);
    setDone(null);
    try {
      await putPii(project, fields);
      setDone(message);
      data.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const overrides = data.data?.fields || {};
  const add = (e: FormEvent) => {
    e.preventDefault();
    const f = field.trim();
    if (!f) return;
    void save({ ...overrides, [f]: kind }, t('settings.piiAdded', { field: f, kind: tx(`settings.piiKind.${kind}`, kind) })).then(() => setField(''));
  };
  // Removing a field the project added drops its override; removing a default declassifies it.
  const remove = (f: string) => {
    const next = { ...overrides };
    if (f in next && next[f] !== 'none') delete next[f];
    const stillDefault = !(f in overrides);
    if (stillDefault) next[f] = 'none';
    void save(next, t('settings.piiRemoved', { field: f }));
  };
  const restore = (f: string) => {
    const next = { ...overrides };
    delete next[f];
    void save(next, t('settings.piiRestored', { field: f }));
  };
  const effective = Object.entries(data.data?.effective || {}).sort(([a], [b]) => a.localeCompare(b));
  const declassified = Object.entries(overrides)
    .filter(([, k]) => k === 'none')
    .map(([f]) => f);

  return (
    <>
      <p className="lead">{t('settings.piiLead')}</p>
      {!admin && <p className="muted">{t('settings.piiAdminOnly')}</p>}
      <ErrorBox error={error} />
      <Done text={done} />
      {admin && (
        <div className="card">
          <h2 className="card-title">{t('settings.piiAdd')}</h2>
          <form className="form-row settings-inline" onSubmit={add}>
            <Field label={t('settings.piiField')} hint={t('settings.piiFieldHint')}>
              <input value={field} onChange={(e) => setField(e.target.value)} required autoComplete="off" />
            </Field>
            <Field label={t('settings.piiKind')}>
              <select value={kind} onChange={(e) => setKind(e.target.value as PiiKind)}>
                {PII_KINDS.map((k) => (
                  <option key={k} value={k}>
                    {tx(`settings.piiKind.${k}`, k)}
                  </option>
                ))}
              </select>
            </Field>
            <button type="submit" className="btn btn-primary" disabled={busy || !data.data}>
              {t('settings.piiAddSubmit')}
            </button>
          </form>
        </div>
      )}
      <div className="card">
        <h2 className="card-title">{t('settings.piiEffective')}</h2>
        {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
        {data.loading && !data.data && <Loading />}
        {data.data &&
          (effective.length === 0 ? (
            <EmptyState title={t('settings.piiEmpty')} />
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label={t('settings.piiEffective')}>
                <thead>
                  <tr>
                    <th scope="col">{t('settings.piiField')}</th>
                    <th scope="col">{t('settings.piiKind')}</th>
                    <th scope="col">{t('settings.piiSource')}</th>
                    {admin && <th scope="col">{t('common.actions')}</th>}
                  </tr>
                </thead>
                <tbody>
                  {effective.map(([f, k]) => (
                    <tr key={f}>
                      <td className="mono">{f}</td>
                      <td>{tx(`settings.piiKind.${k}`, k)}</td>
                      <td className="muted small">{f in overrides ? t('settings.piiSourceProject') : t('settings.piiSourceDefault')}</td>
                      {admin && (
                        <td>
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            disabled={busy}
                            onClick={() => remove(f)}
                            aria-label={t('settings.piiRemoveNamed', { field: f })}
                          >
                            {t('settings.piiRemove')}
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
        {declassified.length > 0 && (
          <div className="settings-declassified">
            <h3 className="card-subtitle">{t('settings.piiDeclassified')}</h3>
            <ul className="chips">
              {declassified.map((f) => (
                <li key={f} className="chip">
                  <span className="mono">{f}</span>{' '}
                  {admin && (
                    <button type="button" className="btn btn-small" disabled={busy} onClick={() => restore(f)} aria-label={t('settings.piiRestoreNamed', { field: f })}>
                      {t('settings.piiRestore')}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          </div>
        )}
      </div>
    </>
  );
}

function TokensTab() {
  const { t, tx, dt, n } = useI18n();
  const { account } = useAuth();
  const isAdminToken = account?.kind === 'admin_token';
  const data = useAsync((s) => listTokens(s), [], !isAdminToken);
  const perms = account?.permissions.includes('admin') ? [...ALL_PERMISSIONS] : account?.permissions || [];
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [days, setDays] = useState('90');
  const [rate, setRate] = useState('1200');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const [created, setCreated] = useState<(ApiToken & { token: string }) | null>(null);
  const [copied, setCopied] = useState(false);

  if (isAdminToken) return <EmptyState title={t('settings.tokensAdminToken')}>{t('settings.tokensAdminTokenHint')}</EmptyState>;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setDone(null);
    setCreated(null);
    setCopied(false);
    try {
      const r = await createToken({
        name: name.trim(),
        scopes,
        expires_in_days: days.trim() ? Number(days) : undefined,
        rate_per_minute: rate.trim() ? Number(rate) : undefined,
      });
      setCreated(r);
      setName('');
      setScopes([]);
      data.reload();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const revoke = async (tok: ApiToken) => {
    if (!window.confirm(t('settings.tokenConfirmRevoke', { name: tok.name }))) return;
    setError(null);
    setDone(null);
    try {
      await revokeToken(tok.id);
      setDone(t('settings.tokenRevoked', { name: tok.name }));
      if (created?.id === tok.id) setCreated(null);
      data.reload();
    } catch (err) {
      setError(err);
    }
  };
  const copy = async () => {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.token);
      setCopied(true);
    } catch {
      // No clipboard (plain http, permissions): select the text so Ctrl+C works.
      const el = document.getElementById('settings-new-token');
      if (el) window.getSelection()?.selectAllChildren(el);
    }
  };
  const now = Date.now();

  return (
    <>
      <p className="lead">{t('settings.tokensLead')}</p>
      <div className="card">
        <h2 className="card-title">{t('settings.tokenCreate')}</h2>
        <form className="form-stack" onSubmit={submit}>
          <div className="form-row">
            <Field label={t('settings.tokenName')}>
              <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} autoComplete="off" />
            </Field>
            <Field label={t('settings.tokenDays')} hint={t('settings.tokenDaysHint')}>
              <input type="number" value={days} onChange={(e) => setDays(e.target.value)} min={1} max={366} step={1} />
            </Field>
            <Field label={t('settings.tokenRate')} hint={t('settings.tokenRateHint')}>
              <input type="number" value={rate} onChange={(e) => setRate(e.target.value)} min={1} step={1} />
            </Field>
          </div>
          <fieldset>
            <legend>{t('settings.tokenScopes')}</legend>
            <div className="chips">
              {perms.map((p) => (
                <label key={p} className="field-check" title={tx(`accounts.perm.${p}`, '')}>
                  <input type="checkbox" checked={scopes.includes(p)} onChange={() => setScopes(scopes.includes(p) ? scopes.filter((x) => x !== p) : [...scopes, p])} />
                  <span className="mono">{p}</span>
                </label>
              ))}
            </div>
          </fieldset>
          <ErrorBox error={error} />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={busy || scopes.length === 0}>
              {t('settings.tokenCreateSubmit')}
            </button>
          </div>
        </form>
        {created && (
          <div className="settings-new-token" role="region" aria-label={t('settings.tokenNew')}>
            <p>
              <strong>{t('settings.tokenNew')}</strong> {t('settings.tokenShownOnce')}
            </p>
            <code id="settings-new-token" className="mono" data-token={created.token}>
              {created.token}
            </code>{' '}
            <button type="button" className="btn btn-small" onClick={() => void copy()}>
              {copied ? t('settings.tokenCopied') : t('settings.tokenCopy')}
            </button>
          </div>
        )}
      </div>
      <Done text={done} />
      <div className="card">
        <h2 className="card-title">{t('settings.tokensList')}</h2>
        {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
        {data.loading && !data.data && <Loading />}
        {data.data &&
          (data.data.length === 0 ? (
            <EmptyState title={t('settings.tokensEmpty')} />
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label={t('settings.tokensList')}>
                <thead>
                  <tr>
                    <th scope="col">{t('settings.tokenName')}</th>
                    <th scope="col">{t('settings.tokenScopes')}</th>
                    <th scope="col">{t('settings.tokenCreated')}</th>
                    <th scope="col">{t('settings.tokenExpires')}</th>
                    <th scope="col">{t('settings.tokenRate')}</th>
                    <th scope="col">{t('common.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.map((tok) => (
                    <tr key={tok.id}>
                      <td>
                        <strong>{tok.name}</strong>
                        <div className="muted small mono">{tok.id}</div>
                      </td>
                      <td className="mono small">{tok.scopes.join(', ')}</td>
                      <td className="nowrap">{dt(tok.created_at)}</td>
                      <td className="nowrap">
                        {dt(tok.expires_at)}
                        {tok.expires_at <= now && <span className="badge badge-ended">{t('settings.tokenExpired')}</span>}
                      </td>
                      <td>{t('settings.tokenRatePerMin', { n: n(tok.rate_per_minute) })}</td>
                      <td>
                        <button type="button" className="btn btn-small btn-danger" onClick={() => void revoke(tok)} aria-label={t('settings.tokenRevokeNamed', { name: tok.name })}>
                          {t('settings.tokenRevoke')}
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </div>
    </>
  );
}

function PasswordTab() {
  const { t } = useI18n();
  const { account } = useAuth();
  const [oldPw, setOldPw] = useState('');
  const [newPw, setNewPw] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  if (account?.kind === 'admin_token') return <EmptyState title={t('settings.passwordAdminToken')} />;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    if (newPw !== again) {
      setError(new Error(t('settings.passwordMismatch')));
      return;
    }
    setBusy(true);
    try {
      await changePassword(oldPw, newPw);
      setDone(t('settings.passwordChanged'));
      setOldPw('');
      setNewPw('');
      setAgain('');
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="card">
      <h2 className="card-title">{t('settings.passwordTitle')}</h2>
      <p className="muted small">{t('settings.passwordLead')}</p>
      <form className="form-stack settings-narrow" onSubmit={submit}>
        <Field label={t('settings.passwordOld')}>
          <input type="password" value={oldPw} onChange={(e) => setOldPw(e.target.value)} required autoComplete="current-password" />
        </Field>
        <Field label={t('settings.passwordNew')} hint={t('settings.passwordNewHint')}>
          <input type="password" value={newPw} onChange={(e) => setNewPw(e.target.value)} required autoComplete="new-password" />
        </Field>
        <Field label={t('settings.passwordAgain')}>
          <input type="password" value={again} onChange={(e) => setAgain(e.target.value)} required autoComplete="new-password" />
        </Field>
        <ErrorBox error={error} />
        <Done text={done} />
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {t('settings.passwordSubmit')}
          </button>
        </div>
      </form>
    </div>
  );
}

export function SettingsPage() {
  const { t } = useI18n();
  const { can } = useAuth();
  const [params, setParams] = useSearchParams();
  const raw = params.get('tab');
  const tab: TabKey = TABS.includes(raw as TabKey) ? (raw as TabKey) : 'projects';
  const setTab = (k: TabKey) => setParams({ tab: k }, { replace: true });

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('settings.title')}</h1>
        {can('admin') && (
          <div className="page-actions">
            <Link className="btn btn-small" to="/accounts">
              {t('settings.accountsLink')}
            </Link>
          </div>
        )}
      </header>
      <p className="lead">{can('admin') ? t('settings.leadAdmin') : t('settings.lead')}</p>
      <Tabs<TabKey> tabs={TABS.map((k) => ({ key: k, label: t(`settings.tab.${k}`) }))} value={tab} onChange={setTab} label={t('settings.title')} idPrefix="settings" />
      <div id="settings-panel" role="tabpanel" aria-labelledby={`settings-tab-${tab}`} className="settings-panel">
        {tab === 'projects' && <ProjectsTab />}
        {tab === 'pii' && <PiiTab />}
        {tab === 'tokens' && <TokensTab />}
        {tab === 'password' && <PasswordTab />}
      </div>
    </section>
  );
}
