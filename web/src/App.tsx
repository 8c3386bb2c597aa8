import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useAuth } from './auth/AuthContext';
import { ProjectProvider } from './auth/ProjectContext';
import { Layout } from './components/Layout';
import { Loading } from './components/Feedback';
import { RequirePermission } from './components/RequirePermission';
import { LoginPage } from './pages/login/LoginPage';
import { OverviewPage } from './pages/overview/OverviewPage';
import { DataPage } from './pages/data/DataPage';
import { UserProfilePage, UserSearchPage } from './pages/users/UserLookupPage';
import { AnalysisPage } from './pages/analysis/AnalysisPage';
import { EventAnalysis } from './pages/analysis/EventAnalysis';
import { FunnelAnalysis } from './pages/analysis/FunnelAnalysis';
import { RetentionAnalysis } from './pages/analysis/RetentionAnalysis';
import { SavedMetrics } from './pages/analysis/SavedMetrics';
import { DrilldownPage } from './pages/analysis/DrilldownPage';
import { DistributionAnalysis } from './pages/analysis/DistributionAnalysis';
import { IntervalAnalysis } from './pages/analysis/IntervalAnalysis';
import { PathsAnalysis } from './pages/analysis/PathsAnalysis';
import { AttributionAnalysis } from './pages/analysis/AttributionAnalysis';
import { StagesAnalysis } from './pages/analysis/StagesAnalysis';
import { DashboardView, DashboardsPage } from './pages/analysis/Dashboards';
import { NotFound } from './pages/placeholder/ComingSoon';
import { JourneyEditorRoute, JourneysListRoute } from './pages/journeys/routes';
import { SegmentsArea } from './pages/segments/SegmentsPage';
import { TagsArea } from './pages/tags/TagsPage';
import { ChannelsPage } from './pages/channels/ChannelsPage';
import { TasksPage } from './pages/tasks/TasksPage';
import { AuditPage } from './pages/audit/AuditPage';
import { AccountsPage } from './pages/accounts/AccountsPage';
import { WallPage } from './pages/wall/WallPage';
import { SettingsPage } from './pages/settings/SettingsPage';

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

export function App() {
  return (
    <Routes>
      <Route path="/login" element={<LoginPage />} />
      <Route element={<Protected />}>
        <Route index element={<OverviewPage />} />
        <Route
          path="data"
          element={
            <RequirePermission anyOf={['data.read']}>
              <DataPage />
            </RequirePermission>
          }
        />
        <Route
          path="users"
          element={
            <RequirePermission anyOf={['data.read']}>
              <UserSearchPage />
            </RequirePermission>
          }
        />
        <Route
          path="users/:id"
          element={
            <RequirePermission anyOf={['data.read']}>
              <UserProfilePage />
            </RequirePermission>
          }
        />
        <Route
          path="analysis"
          element={
            <RequirePermission anyOf={['analysis.read']}>
              <AnalysisPage />
            </RequirePermission>
          }
        >
          <Route index element={<Navigate to="/analysis/events" replace />} />
          <Route path="events" element={<EventAnalysis />} />
          <Route path="funnel" element={<FunnelAnalysis />} />
          <Route path="retention" element={<RetentionAnalysis />} />
          <Route path="distribution" element={<DistributionAnalysis />} />
          <Route path="interval" element={<IntervalAnalysis />} />
          <Route path="paths" element={<PathsAnalysis />} />
          <Route path="attribution" element={<AttributionAnalysis />} />
          <Route path="stages" element={<StagesAnalysis />} />
          <Route path="dashboards" element={<DashboardsPage />} />
          <Route path="dashboards/:id" element={<DashboardView />} />
          <Route path="metrics" element={<SavedMetrics />} />
          <Route path="users" element={<DrilldownPage />} />
        </Route>
        <Route
          path="segments/*"
          element={
            <RequirePermission anyOf={['audience.read']}>
              <SegmentsArea />
            </RequirePermission>
          }
        />
        <Route
          path="tags/*"
          element={
            <RequirePermission anyOf={['audience.read']}>
              <TagsArea />
            </RequirePermission>
          }
        />
        <Route path="journeys" element={<JourneysListRoute />} />
        <Route path="journeys/new" element={<JourneyEditorRoute isNew />} />
        <Route path="journeys/:id" element={<JourneyEditorRoute />} />
        <Route
          path="channels"
          element={
            <RequirePermission anyOf={['rules.read']}>
              <ChannelsPage />
            </RequirePermission>
          }
        />
        <Route
          path="tasks"
          element={
            <RequirePermission anyOf={['task.read']}>
              <TasksPage />
            </RequirePermission>
          }
        />
        <Route
          path="audit"
          element={
            <RequirePermission anyOf={['audit.read', 'ledger.read']}>
              <AuditPage />
            </RequirePermission>
          }
        />
        <Route
          path="accounts"
          element={
            <RequirePermission anyOf={['admin']}>
              <AccountsPage />
            </RequirePermission>
          }
        />
        <Route
          path="wall"
          element={
            <RequirePermission anyOf={['analysis.read']}>
              <WallPage />
            </RequirePermission>
          }
        />
        <Route path="settings" element={<SettingsPage />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
