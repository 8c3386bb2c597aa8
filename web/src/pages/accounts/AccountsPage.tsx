// Accounts (账号, admin): who may sign in, with which roles, to which projects; create, change
// roles, disable / enable (enabling also lifts a sign-in lockout), set a password, delete; the
// built-in roles and their permissions (GET /api/v1/admin/accounts).
import { useState, type FormEvent } from 'react';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { createAccount, deleteAccount, listAccounts, updateAccount, type AccountInput, type ManagedAccount, type RoleDef } from '../../api/accounts';
import { ALL_PERMISSIONS } from '../../api/auth';
import { EmptyState, ErrorBox, Loading, NoPermission } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { DialogActions, Modal } from '../../components/Modal';
import '../segments/audience.css';

function AccountModal({ roles, account, onClose }: { roles: RoleDef[]; account?: ManagedAccount; onClose: (changed: boolean) => void }) {
  const { t, tx } = useI18n();
  const { projects } = useProject();
  const [name, setName] = useState(account?.name || '');
  const [displayName, setDisplayName] = useState(account?.display_name || '');
  const [password, setPassword] = useState('');
  const [picked, setPicked] = useState<string[]>(account?.roles || []);
  const [allProjects, setAllProjects] = useState(account ? account.projects.includes('*') : false);
  const [memberOf, setMemberOf] = useState<string[]>(account ? account.projects.filter((p) => p !== '*') : []);
  const [orgUnit, setOrgUnit] = useState(account?.org_unit || '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const toggle = (list: string[], set: (v: string[]) => void, v: string) => set(list.includes(v) ? list.filter((x) => x !== v) : [...list, v]);
  const projectNames = [...new Set([...projects.map((p) => p.name), ...memberOf])];

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body: AccountInput = {
      roles: picked,
      projects: allProjects ? ['*'] : memberOf,
      org_unit: orgUnit.trim(),
      display_name: displayName.trim(),
    };
    if (password) body.password = password;
    setBusy(true);
    setError(null);
    try {
      if (account) await updateAccount(account.name, body);
      else await createAccount({ ...body, name: name.trim() });
      onClose(true);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={account ? t('accounts.editNamed', { name: account.name }) : t('accounts.create')} onClose={() => onClose(false)}>
      <form className="form-stack" onSubmit={submit}>
        <div className="form-row">
          <Field label={t('accounts.name')} hint={account ? undefined : t('accounts.nameHint')}>
            <input value={name} onChange={(e) => setName(e.target.value)} required disabled={!!account} pattern="[A-Za-z0-9._@\-]{1,64}" autoComplete="off" />
          </Field>
          <Field label={t('accounts.displayName')}>
            <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
          </Field>
        </div>
        <Field label={account ? t('accounts.newPassword') : t('accounts.password')} hint={account ? t('accounts.newPasswordHint') : t('accounts.passwordHint')}>
          <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} required={!account} minLength={10} autoComplete="new-password" />
        </Field>
        <fieldset>
          <legend>{t('accounts.roles')}</legend>
          <div className="chips">
            {roles.map((r) => (
              <label key={r.name} className="field-check" title={r.permissions.join(', ')}>
                <input type="checkbox" checked={picked.includes(r.name)} onChange={() => toggle(picked, setPicked, r.name)} />
                <span>{tx(`accounts.role.${r.name}`, r.name)}</span>
              </label>
            ))}
          </div>
        </fieldset>
        <fieldset>
          <legend>{t('accounts.projects')}</legend>
          <label className="field-check">
            <input type="checkbox" checked={allProjects} onChange={(e) => setAllProjects(e.target.checked)} />
            <span>{t('accounts.allProjects')}</span>
          </label>
          {!allProjects && (
            <div className="chips">
              {projectNames.map((p) => (
                <label key={p} className="field-check">
                  <input type="checkbox" checked={memberOf.includes(p)} onChange={() => toggle(memberOf, setMemberOf, p)} />
                  <span>{p}</span>
                </label>
              ))}
            </div>
          )}
        </fieldset>
        <Field label={t('accounts.orgUnit')} hint={t('accounts.orgUnitHint')}>
          <input value={orgUnit} onChange={(e) => setOrgUnit(e.target.value)} placeholder="/hq/shanghai/team-1" />
        </Field>
        <ErrorBox error={error} />
        <DialogActions confirm={account ? t('common.save') : t('accounts.createSubmit')} onCancel={() => onClose(false)} busy={busy} />
      </form>
    </Modal>
  );
}

export function AccountsPage() {
  const { t, tx, dt } = useI18n();
  const { can, account: me } = useAuth();
  const data = useAsync((s) => listAccounts(s), [], can('admin'));
  const [editing, setEditing] = useState<{ account?: ManagedAccount } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  if (!can('admin')) return <NoPermission permission="admin" />;

  const now = Date.now();
  const setDisabled = async (a: ManagedAccount, disabled: boolean) => {
    setError(null);
    setDone(null);
    try {
      await updateAccount(a.name, { disabled });
      setDone(disabled ? t('accounts.disabledDone', { name: a.name }) : t('accounts.enabledDone', { name: a.name }));
      data.reload();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async (a: ManagedAccount) => {
    if (!window.confirm(t('accounts.confirmDelete', { name: a.name }))) return;
    setError(null);
    setDone(null);
    try {
      await deleteAccount(a.name);
      setDone(t('accounts.deletedDone', { name: a.name }));
      data.reload();
    } catch (e) {
      setError(e);
    }
  };
  const roles = data.data?.roles || [];
  const perms = [...new Set([...ALL_PERMISSIONS, ...roles.flatMap((r) => r.permissions)])];

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('accounts.title')}</h1>
        <div className="page-actions">
          <button type="button" className="btn btn-small" onClick={data.reload}>
            {t('common.refresh')}
          </button>
          <button type="button" className="btn btn-small btn-primary" onClick={() => setEditing({})} disabled={!data.data}>
            {t('accounts.create')}
          </button>
        </div>
      </header>
      <p className="lead">{t('accounts.lead')}</p>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      <ErrorBox error={error} />
      <div className="card">
        <h2 className="card-title">{t('accounts.list')}</h2>
        {data.error ? <ErrorBox error={data.error} onRetry={data.reload} /> : null}
        {data.loading && !data.data && <Loading />}
        {data.data &&
          (data.data.accounts.length === 0 ? (
            <EmptyState title={t('accounts.empty')}>{t('accounts.emptyHint')}</EmptyState>
          ) : (
            <div className="table-wrap">
              <table className="table" aria-label={t('accounts.list')}>
                <thead>
                  <tr>
                    <th scope="col">{t('accounts.name')}</th>
                    <th scope="col">{t('accounts.roles')}</th>
                    <th scope="col">{t('accounts.projects')}</th>
                    <th scope="col">{t('accounts.orgUnit')}</th>
                    <th scope="col">{t('accounts.state')}</th>
                    <th scope="col">{t('accounts.created')}</th>
                    <th scope="col">{t('common.actions')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.data.accounts.map((a) => {
                    const locked = (a.locked_until ?? 0) > now;
                    return (
                      <tr key={a.name}>
                        <td>
                          <strong>{a.name}</strong>
                          {a.display_name && <div className="muted small">{a.display_name}</div>}
                        </td>
                        <td>{a.roles.map((r) => tx(`accounts.role.${r}`, r)).join(', ') || '—'}</td>
                        <td>{a.projects.includes('*') ? t('accounts.allProjects') : a.projects.join(', ') || '—'}</td>
                        <td className="mono small">{a.org_unit || '—'}</td>
                        <td>
                          {a.disabled ? (
                            <span className="badge badge-ended">{t('accounts.disabled')}</span>
                          ) : locked ? (
                            <span className="badge badge-paused">{t('accounts.locked', { until: dt(a.locked_until) })}</span>
                          ) : (
                            <span className="badge badge-running">{t('accounts.active')}</span>
                          )}
                        </td>
                        <td className="nowrap">{dt(a.created_at)}</td>
                        <td className="nowrap">
                          <button type="button" className="btn btn-small" onClick={() => setEditing({ account: a })} aria-label={t('accounts.editNamed', { name: a.name })}>
                            {t('accounts.edit')}
                          </button>{' '}
                          {a.disabled || locked ? (
                            <button type="button" className="btn btn-small" onClick={() => void setDisabled(a, false)} aria-label={t('accounts.enableNamed', { name: a.name })}>
                              {locked && !a.disabled ? t('accounts.unlock') : t('accounts.enable')}
                            </button>
                          ) : (
                            <button
                              type="button"
                              className="btn btn-small"
                              onClick={() => void setDisabled(a, true)}
                              disabled={a.name === me?.name}
                              aria-label={t('accounts.disableNamed', { name: a.name })}
                            >
                              {t('accounts.disable')}
                            </button>
                          )}{' '}
                          <button
                            type="button"
                            className="btn btn-small btn-danger"
                            onClick={() => void remove(a)}
                            disabled={a.name === me?.name}
                            aria-label={t('accounts.deleteNamed', { name: a.name })}
                          >
                            {t('common.delete')}
                          </button>
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ))}
      </div>
      {roles.length > 0 && (
        <div className="card">
          <h2 className="card-title">{t('accounts.rolesTable')}</h2>
          <p className="muted small">{t('accounts.rolesLead')}</p>
          <div className="table-wrap">
            <table className="table" aria-label={t('accounts.rolesTable')}>
              <thead>
                <tr>
                  <th scope="col">{t('accounts.permission')}</th>
                  {roles.map((r) => (
                    <th scope="col" key={r.name}>
                      {tx(`accounts.role.${r.name}`, r.name)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {perms.map((p) => (
                  <tr key={p}>
                    <th scope="row">
                      <span className="mono">{p}</span>
                      <div className="muted small">{tx(`accounts.perm.${p}`, '')}</div>
                    </th>
                    {roles.map((r) => (
                      <td key={r.name} className={r.permissions.includes(p) ? 'perm-yes' : 'perm-no'}>
                        {r.permissions.includes(p) ? '✓' : '·'}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {editing && data.data && (
        <AccountModal
          roles={roles}
          account={editing.account}
          onClose={(changed) => {
            setEditing(null);
            if (changed) data.reload();
          }}
        />
      )}
    </section>
  );
}
