// Entry points of the Journeys area for the router. The editor (with the canvas library) is
// loaded on demand, so that the rest of the console does not download it.
import { lazy, Suspense } from 'react';
import { Loading } from '../../components/Feedback';
import { RequirePermission } from '../../components/RequirePermission';
import { JourneyListPage } from './JourneyListPage';

const JourneyEditorPage = lazy(() => import('./JourneyEditorPage').then((m) => ({ default: m.JourneyEditorPage })));

export function JourneysListRoute() {
  return (
    <RequirePermission anyOf={['journey.read']}>
      <JourneyListPage />
    </RequirePermission>
  );
}

/** `/journeys/new` (needs journey.write) and `/journeys/:id`. */
export function JourneyEditorRoute({ isNew = false }: { isNew?: boolean }) {
  return (
    <RequirePermission anyOf={isNew ? ['journey.write'] : ['journey.read']}>
      <Suspense fallback={<Loading />}>
        <JourneyEditorPage />
      </Suspense>
    </RequirePermission>
  );
}
