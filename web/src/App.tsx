// The route table. Every page behind the sign-in is its own chunk, downloaded the first time it is
// shown (lib/lazyPage.ts): the first load fetches the shell, the login page and the page asked
// for, not the whole console, and ECharts and the journey canvas only come with the pages that
// draw them. `preloadRoute` starts the download of the page at an address before it renders.
import type { ComponentType } from 'react';
import { createRoutesFromElements, matchRoutes, Navigate, Route, Routes, useLocation } from 'react-router';
import type { Permission } from './api/auth';
import { useAuth } from './auth/AuthContext';
import { ProjectProvider } from './auth/ProjectContext';
import { Layout } from './components/Layout';
import { Loading } from './components/Feedback';
import { RequirePermission } from './components/RequirePermission';
import { isLazyPage, lazyPage, type LazyPage } from './lib/lazyPage';
import { LoginPage } from './pages/login/LoginPage';

const OverviewPage = lazyPage(() => import('./pages/overview/OverviewPage'), 'OverviewPage');
const DataPage = lazyPage(() => import('./pages/data/DataPage'), 'DataPage');
const UserSearchPage = lazyPage(() => import('./pages/users/UserLookupPage'), 'UserSearchPage');
const UserProfilePage = lazyPage(() => import('./pages/users/UserLookupPage'), 'UserProfilePage');
const AnalysisPage = lazyPage(() => import('./pages/analysis/AnalysisPage'), 'AnalysisPage');
const EventAnalysis = lazyPage(() => import('./pages/analysis/EventAnalysis'), 'EventAnalysis');
const FunnelAnalysis = lazyPage(() => import('./pages/analysis/FunnelAnalysis'), 'FunnelAnalysis');
const RetentionAnalysis = lazyPage(() => import('./pages/analysis/RetentionAnalysis'), 'RetentionAnalysis');
const DistributionAnalysis = lazyPage(() => import('./pages/analysis/DistributionAnalysis'), 'DistributionAnalysis');
const IntervalAnalysis = lazyPage(() => import('./pages/analysis/IntervalAnalysis'), 'IntervalAnalysis');
const PathsAnalysis = lazyPage(() => import('./pages/analysis/PathsAnalysis'), 'PathsAnalysis');
const AttributionAnalysis = lazyPage(() => import('./pages/analysis/AttributionAnalysis'), 'AttributionAnalysis');
const StagesAnalysis = lazyPage(() => import('./pages/analysis/StagesAnalysis'), 'StagesAnalysis');
const DashboardsPage = lazyPage(() => import('./pages/analysis/Dashboards'), 'DashboardsPage');
const DashboardView = lazyPage(() => import('./pages/analysis/Dashboards'), 'DashboardView');
const SavedMetrics = lazyPage(() => import('./pages/analysis/SavedMetrics'), 'SavedMetrics');
const DrilldownPage = lazyPage(() => import('./pages/analysis/DrilldownPage'), 'DrilldownPage');
const SegmentsArea = lazyPage(() => import('./pages/segments/SegmentsPage'), 'SegmentsArea');
const TagsArea = lazyPage(() => import('./pages/tags/TagsPage'), 'TagsArea');
const JourneyListPage = lazyPage(() => import('./pages/journeys/JourneyListPage'), 'JourneyListPage');
const JourneyEditorPage = lazyPage(() => import('./pages/journeys/JourneyEditorPage'), 'JourneyEditorPage');
const ChannelsPage = lazyPage(() => import('./pages/channels/ChannelsPage'), 'ChannelsPage');
const TasksPage = lazyPage(() => import('./pages/tasks/TasksPage'), 'TasksPage');
const AuditPage = lazyPage(() => import('./pages/audit/AuditPage'), 'AuditPage');
const AccountsPage = lazyPage(() => import('./pages/accounts/AccountsPage'), 'AccountsPage');
const WallPage = lazyPage(() => import('./pages/wall/WallPage'), 'WallPage');
const SettingsPage = lazyPage(() => import('./pages/settings/SettingsPage'), 'SettingsPage');
const NotFoundPage = lazyPage(() => import('./pages/notfound/NotFoundPage'), 'NotFoundPage');

/** A route's element (behind the permission check when given) with its page as `handle`. */
function page(Page: LazyPage<ComponentType>, anyOf?: Permission[]) {
  const element = anyOf ? (
    <RequirePermission anyOf={anyOf}>
      <Page />
    </RequirePermission>
  ) : (
    <Page />
  );
  return { element, handle: Page };
}

function Protected() {
  const { status } = useAuth();
  const location = useLocation();
  if (status === 'checking') {
    return (
      <div className="center-page">
        <Loading />
      </div>
    );
  }
  if (status === 'signed_out') return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  return (
    <ProjectProvider>
      <Layout />
    </ProjectProvider>
  );
}

const routes = (
  <>
    <Route path="/login" element={<LoginPage />} />
    <Route element={<Protected />}>
      <Route index {...page(OverviewPage)} />
      <Route path="data" {...page(DataPage, ['data.read'])} />
      <Route path="users" {...page(UserSearchPage, ['data.read'])} />
      <Route path="users/:id" {...page(UserProfilePage, ['data.read'])} />
      <Route path="analysis" {...page(AnalysisPage, ['analysis.read'])}>
        <Route index element={<Navigate to="/analysis/events" replace />} />
        <Route path="events" {...page(EventAnalysis)} />
        <Route path="funnel" {...page(FunnelAnalysis)} />
        <Route path="retention" {...page(RetentionAnalysis)} />
        <Route path="distribution" {...page(DistributionAnalysis)} />
        <Route path="interval" {...page(IntervalAnalysis)} />
        <Route path="paths" {...page(PathsAnalysis)} />
        <Route path="attribution" {...page(AttributionAnalysis)} />
        <Route path="stages" {...page(StagesAnalysis)} />
        <Route path="dashboards" {...page(DashboardsPage)} />
        <Route path="dashboards/:id" {...page(DashboardView)} />
        <Route path="metrics" {...page(SavedMetrics)} />
        <Route path="users" {...page(DrilldownPage)} />
      </Route>
      <Route path="segments/*" {...page(SegmentsArea, ['audience.read'])} />
      <Route path="tags/*" {...page(TagsArea, ['audience.read'])} />
      <Route path="journeys" {...page(JourneyListPage, ['journey.read'])} />
      <Route path="journeys/new" {...page(JourneyEditorPage, ['journey.write'])} />
      <Route path="journeys/:id" {...page(JourneyEditorPage, ['journey.read'])} />
      <Route path="channels" {...page(ChannelsPage, ['rules.read'])} />
      <Route path="tasks" {...page(TasksPage, ['task.read'])} />
      <Route path="audit" {...page(AuditPage, ['audit.read', 'ledger.read'])} />
      <Route path="accounts" {...page(AccountsPage, ['admin'])} />
      <Route path="wall" {...page(WallPage, ['analysis.read'])} />
      <Route path="settings" {...page(SettingsPage)} />
      <Route path="*" {...page(NotFoundPage)} />
    </Route>
  </>
);

/**
 * Starts downloading the pages that `pathname` shows; resolves when they have arrived (or failed
 * to: rendering them tries again and shows the error).
 */
export function preloadRoute(pathname: string): Promise<void> {
  const pages = (matchRoutes(createRoutesFromElements(routes), pathname) ?? []).map((m) => m.route.handle).filter(isLazyPage);
  return Promise.allSettled(pages.map((p) => p.preload())).then(() => undefined);
}

export function App() {
  return <Routes>{routes}</Routes>;
}
