// One saved metric's answer drawn the way its analysis page draws it (dashboards).
import { useState } from 'react';
import { Link } from 'react-router';
import { useI18n } from '../../i18n';
import type {
  AnyQuery,
  AttributionAnswer,
  DistributionAnswer,
  EventsAnswer,
  FunnelAnswer,
  IntervalAnswer,
  PathsAnswer,
  RetentionAnswer,
  StagesAnswer,
  UsersAnswer,
} from '../../api/query';
import { EventsResult, type View } from './EventAnalysis';
import { FunnelResult } from './FunnelAnalysis';
import { RetentionTable } from './RetentionAnalysis';
import { DistributionResult } from './DistributionAnalysis';
import { IntervalResult } from './IntervalAnalysis';
import { PathsResult } from './PathsAnalysis';
import { AttributionResult } from './AttributionAnalysis';
import { StagesResult } from './StagesAnalysis';

export function MetricResult({ query, answer }: { query: AnyQuery; answer: unknown }) {
  const { t, n, pct } = useI18n();
  const [view, setView] = useState<View>(query.type === 'events' && (query.unit ?? 'day') === 'total' ? 'bar' : 'line');
  // A metric saved with `users` answers the people behind one number, not the analysis.
  if ('users' in query && query.users) {
    const a = answer as UsersAnswer;
    return (
      <div className="metric-result">
        <p>{t('dashboards.peopleCount', { n: n(a.total) })}</p>
        <ul>
          {a.users.slice(0, 20).map((u) => (
            <li key={u.user_id}>
              <Link to={`/users/${encodeURIComponent(u.distinct_id)}`} className="mono">
                {u.distinct_id}
              </Link>
            </li>
          ))}
        </ul>
      </div>
    );
  }
  switch (query.type) {
    case 'events':
      return (
        <EventsResult
          result={{ query, answer: answer as EventsAnswer, unit: query.unit ?? 'day' }}
          view={view}
          setView={setView}
          n={n}
          pct={pct}
          embedded
        />
      );
    case 'funnel':
      return <FunnelResult query={query} answer={answer as FunnelAnswer} embedded />;
    case 'retention':
      return <RetentionTable query={query} answer={answer as RetentionAnswer} embedded />;
    case 'distribution':
      return <DistributionResult query={query} answer={answer as DistributionAnswer} embedded />;
    case 'interval':
      return <IntervalResult query={query} answer={answer as IntervalAnswer} embedded />;
    case 'paths':
      return <PathsResult query={query} answer={answer as PathsAnswer} embedded />;
    case 'attribution':
      return <AttributionResult query={query} answer={answer as AttributionAnswer} embedded />;
    case 'stages':
      return <StagesResult query={query} answer={answer as StagesAnswer} embedded />;
    default:
      return <pre className="mono small">{JSON.stringify(answer, null, 2).slice(0, 4000)}</pre>;
  }
}
