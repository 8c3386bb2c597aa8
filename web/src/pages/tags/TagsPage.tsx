// Tags (标签): the catalogue as a category tree (GET /tags/categories) next to the tag list,
// and the routes of the area (new, one tag, edit).
import { useState } from 'react';
import { Link, Route, Routes } from 'react-router';
import { useAuth } from '../../auth/AuthContext';
import { useProject } from '../../auth/ProjectContext';
import { useI18n } from '../../i18n';
import { useAsync } from '../../lib/useAsync';
import { listTags, tagCategories, type TagCategory } from '../../api/audience';
import { EmptyState, ErrorBox, Loading } from '../../components/Feedback';
import { Field } from '../../components/Field';
import { NotFoundPage } from '../notfound/NotFoundPage';
import { TagForm } from './TagForm';
import { TagDetail } from './TagDetail';
import '../segments/audience.css';

export function TagsArea() {
  return (
    <Routes>
      <Route index element={<TagsPage />} />
      <Route path="new" element={<TagForm />} />
      <Route path=":id" element={<TagDetail />} />
      <Route path=":id/edit" element={<TagForm />} />
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}

export function StatusBadge({ status }: { status?: string }) {
  const { tx } = useI18n();
  const s = status || 'draft';
  const cls = s === 'approved' ? 'badge badge-running' : s === 'offline' ? 'badge badge-ended' : 'badge badge-submitted';
  return <span className={cls}>{tx(`tags.status.${s}`, s)}</span>;
}

function Tree({ nodes, current, onPick }: { nodes: TagCategory[]; current: string; onPick: (path: string) => void }) {
  return (
    <ul>
      {nodes.map((c) => (
        <li key={c.path}>
          <button type="button" aria-current={current === c.path} onClick={() => onPick(c.path)}>
            <span>{c.name}</span>
            <span className="count">{c.tags}</span>
          </button>
          {c.children.length > 0 && <Tree nodes={c.children} current={current} onPick={onPick} />}
        </li>
      ))}
    </ul>
  );
}

export function TagsPage() {
  const { t, tx, n, dt } = useI18n();
  const { can } = useAuth();
  const { project } = useProject();
  const p = project!;
  const tags = useAsync((s) => listTags(p, s), [p]);
  const tree = useAsync((s) => tagCategories(p, s), [p]);
  const [category, setCategory] = useState('');
  const [filter, setFilter] = useState('');

  const shown = (tags.data || []).filter((tg) => {
    const cat = tg.category || '';
    if (category === '-' ? cat !== '' : category && !(cat === category || cat.startsWith(`${category}/`))) return false;
    const text = `${tg.name} ${tg.display_name || ''} ${tg.description || ''}`.toLowerCase();
    return text.includes(filter.toLowerCase());
  });
  const uncategorised = (tags.data || []).filter((tg) => !tg.category).length;

  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('tags.title')}</h1>
        <div className="page-actions">
          <button
            type="button"
            className="btn btn-small"
            onClick={() => {
              tags.reload();
              tree.reload();
            }}
          >
            {t('common.refresh')}
          </button>
          {can('audience.write') && (
            <Link to="/tags/new" className="btn btn-small btn-primary">
              {t('tags.new')}
            </Link>
          )}
        </div>
      </header>
      <p className="lead">{t('tags.lead')}</p>
      <div className="tag-layout">
        <nav className="card tree" aria-label={t('tags.tree')}>
          <h2 className="card-title">{t('tags.tree')}</h2>
          {tree.error ? <ErrorBox error={tree.error} onRetry={tree.reload} /> : null}
          {tree.loading && !tree.data && <Loading />}
          {tree.data && (
            <ul>
              <li>
                <button type="button" aria-current={category === ''} onClick={() => setCategory('')}>
                  <span>{t('tags.allCategories')}</span>
                  <span className="count">{tree.data.tags}</span>
                </button>
                <Tree nodes={tree.data.categories} current={category} onPick={setCategory} />
              </li>
              {uncategorised > 0 && (
                <li>
                  <button type="button" aria-current={category === '-'} onClick={() => setCategory('-')}>
                    <span>{t('tags.uncategorised')}</span>
                    <span className="count">{uncategorised}</span>
                  </button>
                </li>
              )}
            </ul>
          )}
        </nav>
        <div className="card">
          <Field className="field field-inline" label={t('tags.search')}>
            <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} />
          </Field>
          {tags.error ? <ErrorBox error={tags.error} onRetry={tags.reload} /> : null}
          {tags.loading && !tags.data && <Loading />}
          {tags.data &&
            (tags.data.length === 0 ? (
              <EmptyState title={t('tags.empty')}>{can('audience.write') ? t('tags.emptyHint') : null}</EmptyState>
            ) : (
              <div className="table-wrap">
                <table className="table" aria-label={t('tags.list')}>
                  <thead>
                    <tr>
                      <th scope="col">{t('tags.displayName')}</th>
                      <th scope="col">{t('tags.name')}</th>
                      <th scope="col">{t('tags.kind')}</th>
                      <th scope="col">{t('tags.category')}</th>
                      <th scope="col">{t('tags.statusLabel')}</th>
                      <th scope="col" className="num">
                        {t('tags.coverage')}
                      </th>
                      <th scope="col">{t('tags.lastRun')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {shown.map((tg) => (
                      <tr key={tg.id}>
                        <td>
                          <Link to={`/tags/${encodeURIComponent(tg.id)}`}>{tg.display_name || tg.name}</Link>
                        </td>
                        <td className="mono">{tg.name}</td>
                        <td>
                          {tx(`tags.kind.${tg.kind}`, tg.kind)} <span className="muted small">{tg.value_type}</span>
                        </td>
                        <td>{tg.category || '—'}</td>
                        <td>
                          <StatusBadge status={tg.status} />
                        </td>
                        <td className="num">{n(tg.coverage ?? 0)}</td>
                        <td className="nowrap">{dt(tg.last_run_ms)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                {shown.length === 0 && <p className="muted">{t('common.noMatch')}</p>}
              </div>
            ))}
        </div>
      </div>
    </section>
  );
}
