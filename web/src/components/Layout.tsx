// The app shell: left navigation (only what the account may use), header with the project
// picker, the language switch and the signed-in account.
import { Suspense } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router';
import { useAuth } from '../auth/AuthContext';
import { useProject } from '../auth/ProjectContext';
import { LOCALES, useI18n, type Locale } from '../i18n';
import { NAV } from './nav';
import { ErrorBox, Loading, EmptyState } from './Feedback';
import { Field } from './Field';
import { PageBoundary } from './PageBoundary';

export function LanguageSwitch() {
  const { locale, setLocale, t } = useI18n();
  return (
    <Field className="header-field" label={t('header.language')}>
      <select value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
        {LOCALES.map((l) => (
          <option key={l} value={l}>
            {t(`lang.${l}`)}
          </option>
        ))}
      </select>
    </Field>
  );
}

function ProjectPicker() {
  const { t } = useI18n();
  const { projects, project, setProject, loading } = useProject();
  return (
    <Field className="header-field" label={t('header.project')}>
      <select value={project ?? ''} onChange={(e) => setProject(e.target.value)} disabled={loading || projects.length === 0}>
        {projects.length === 0 && <option value="">{loading ? t('common.loading') : t('header.noProjects')}</option>}
        {projects.map((p) => (
          <option key={p.name} value={p.name}>
            {p.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function Layout() {
  const { t } = useI18n();
  const { account, can, signOut } = useAuth();
  const { project, error, loading, reload } = useProject();
  const { pathname } = useLocation();
  const items = NAV.filter((i) => !i.anyOf || i.anyOf.some((p) => can(p)));

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        {t('common.skipToContent')}
      </a>
      <aside className="sidebar">
        <div className="brand">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>
            Sextant<small>{t('app.subtitle')}</small>
          </span>
        </div>
        <nav aria-label={t('nav.label')}>
          <ul>
            {items.map((i) => (
              <li key={i.path}>
                <NavLink to={i.path} end={i.path === '/'} className={({ isActive }) => (isActive ? 'active' : undefined)}>
                  {t(i.label)}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
      </aside>
      <div className="main-col">
        <header className="topbar">
          <ProjectPicker />
          <div className="spacer" />
          <LanguageSwitch />
          <div className="account" aria-label={t('header.account')}>
            <span className="account-name">{account?.display_name || account?.name}</span>
            {account && account.roles.length > 0 && <span className="account-roles">{account.roles.join(', ')}</span>}
          </div>
          <button type="button" className="btn btn-small btn-ghost" onClick={() => void signOut()}>
            {t('header.logout')}
          </button>
        </header>
        <main id="main" className="content" tabIndex={-1}>
          {error ? (
            <ErrorBox error={error} onRetry={reload} title={t('header.projectsError')} />
          ) : !project ? (
            loading ? (
              <Loading />
            ) : (
              <EmptyState title={t('header.noProjects')}>{t('header.noProjectsHint')}</EmptyState>
            )
          ) : (
            // Keyed by project: a page starts afresh when the project changes. Pages are loaded
            // on demand (App.tsx): the shell stays while a page's code arrives.
            <PageBoundary resetKey={pathname}>
              <Suspense fallback={<Loading />}>
                <Outlet key={project} />
              </Suspense>
            </PageBoundary>
          )}
        </main>
      </div>
    </div>
  );
}
