// Every version of a journey: which one customers enter (live), which are approved, and each
// definition; a version can be loaded into the editor to start a new one from it.
import type { Journey, JourneyDefinition, JourneyVersion } from '../../api/journeys';
import { EmptyState } from '../../components/Feedback';
import { useI18n } from '../../i18n';
import { nodesOf } from './model';

export function VersionsPanel({ journey, versions, editable, onLoad }: { journey: Journey; versions: JourneyVersion[]; editable: boolean; onLoad: (def: JourneyDefinition, version: number) => void }) {
  const { t } = useI18n();
  if (versions.length === 0) return <EmptyState title={t('journeys.versions.none')} />;
  return (
    <section className="card" aria-labelledby="jn-versions-title">
      <h2 className="card-title" id="jn-versions-title">
        {t('journeys.versions.title')}
      </h2>
      <p className="muted small">{t('journeys.versions.help')}</p>
      <div className="table-wrap">
        <table className="table">
          <caption className="sr-only">{t('journeys.versions.title')}</caption>
          <thead>
            <tr>
              <th scope="col">{t('journeys.versions.version')}</th>
              <th scope="col">{t('journeys.versions.state')}</th>
              <th scope="col">{t('journeys.versions.name')}</th>
              <th scope="col" className="num">
                {t('journeys.versions.nodes')}
              </th>
              <th scope="col">{t('journeys.versions.definition')}</th>
              {editable && <th scope="col">{t('common.actions')}</th>}
            </tr>
          </thead>
          <tbody>
            {[...versions].reverse().map((v) => (
              <tr key={v.version}>
                <td>{t('journeys.versions.vN', { n: v.version })}</td>
                <td>
                  {v.live && <span className="badge badge-running">{t('journeys.versions.live')}</span>}{' '}
                  {v.approved ? <span className="badge">{t('journeys.versions.approved')}</span> : <span className="badge badge-submitted">{t('journeys.versions.notApproved')}</span>}{' '}
                  {v.version === journey.current_version && <span className="badge">{t('journeys.versions.current')}</span>}
                </td>
                <td>{v.definition?.name}</td>
                <td className="num">{Object.keys(nodesOf(v.definition || {})).length}</td>
                <td>
                  <details>
                    <summary>{t('journeys.versions.showJson')}</summary>
                    <pre className="code">{JSON.stringify(v.definition, null, 2)}</pre>
                  </details>
                </td>
                {editable && (
                  <td>
                    {v.version !== journey.current_version && (
                      <button type="button" className="btn btn-small" onClick={() => onLoad(v.definition, v.version)}>
                        {t('journeys.versions.load')}
                      </button>
                    )}
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
