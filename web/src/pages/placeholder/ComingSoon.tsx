import type { MessageKey } from '../../i18n';
import { useT } from '../../i18n';

/** A page of a later version: the route exists and says what will be here. */
export function ComingSoon({ title, about }: { title: MessageKey; about: MessageKey }) {
  const t = useT();
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t(title)}</h1>
      </header>
      <div className="card placeholder">
        <p className="placeholder-badge">{t('soon.badge')}</p>
        <p>{t(about)}</p>
        <p className="muted">{t('soon.hint')}</p>
      </div>
    </section>
  );
}

export function NotFound() {
  const t = useT();
  return (
    <section className="page">
      <header className="page-head">
        <h1>{t('notFound.title')}</h1>
      </header>
      <p>{t('notFound.hint')}</p>
    </section>
  );
}
