import { NavLink, Outlet } from 'react-router';
import { useI18n } from '../../i18n';

/** Analysis: tabs for events, funnel, retention and saved metrics (each its own route). */
export function AnalysisPage() {
  const { t } = useI18n();
  const tabs: [string, string][] = [
    ['/analysis/events', t('analysis.events')],
    ['/analysis/funnel', t('analysis.funnel')],
    ['/analysis/retention', t('analysis.retention')],
    ['/analysis/metrics', t('analysis.metrics')],
  ];
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('analysis.title')}</h1>
      </header>
      <nav className="tabs tabs-nav" aria-label={t('analysis.title')}>
        {tabs.map(([to, label]) => (
          <NavLink key={to} to={to} className={({ isActive }) => (isActive ? 'tab active' : 'tab')}>
            {label}
          </NavLink>
        ))}
      </nav>
      <Outlet />
    </section>
  );
}
