// Any address the console has no page for (a mistyped link, a page of another version).
import { Link, useLocation } from 'react-router';
import { useT } from '../../i18n';

export function NotFoundPage() {
  const t = useT();
  const { pathname } = useLocation();
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('notFound.title')}</h1>
      </header>
      <div className="card">
        <p>
          {t('notFound.path')} <code>{pathname}</code>
        </p>
        <p className="muted">{t('notFound.hint')}</p>
        <p>
          <Link to="/">{t('notFound.home')}</Link>
        </p>
      </div>
    </section>
  );
}
