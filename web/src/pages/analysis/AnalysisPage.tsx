import { Suspense } from 'react';
import { NavLink, Outlet } from 'react-router';
import { Loading } from '../../components/Feedback';
import { useI18n } from '../../i18n';

/** Analysis: a tab per analysis type, saved metrics and dashboards (each its own route). */
export function AnalysisPage() {
  const { t } = useI18n();
  const tabs: [string, string][] = [
    ['/analysis/events', t('analysis.events')],
    ['/analysis/funnel', t('analysis.funnel')],
    ['/analysis/retention', t('analysis.retention')],
    ['/analysis/distribution', t('analysisType.distribution')],
    ['/analysis/interval', t('analysisType.interval')],
    ['/analysis/paths', t('analysisType.paths')],
    ['/analysis/attribution', t('analysisType.attribution')],
    ['/analysis/stages', t('analysisType.stages')],
    ['/analysis/metrics', t('analysis.metrics')],
    ['/analysis/dashboards', t('dashboards.tab')],
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
      <Suspense fallback={<Loading />}>
        <Outlet />
      </Suspense>
    </section>
  );
}
