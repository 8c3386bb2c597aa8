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
import { ComingSoon, NotFound } from './pages/placeholder/ComingSoon';

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
          <Route path="metrics" element={<SavedMetrics />} />
          <Route path="users" element={<DrilldownPage />} />
        </Route>
        <Route path="segments" element={<ComingSoon title="nav.segments" about="soon.segments" />} />
        <Route path="tags" element={<ComingSoon title="nav.tags" about="soon.tags" />} />
        <Route path="journeys" element={<ComingSoon title="nav.journeys" about="soon.journeys" />} />
        <Route path="channels" element={<ComingSoon title="nav.channels" about="soon.channels" />} />
        <Route path="tasks" element={<ComingSoon title="nav.tasks" about="soon.tasks" />} />
        <Route path="audit" element={<ComingSoon title="nav.audit" about="soon.audit" />} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}
