// What the content area shows when a page cannot be shown: its code failed to download (pages
// are loaded on demand; a console rebuilt since the tab was opened has new file names) or it
// failed while rendering. The shell stays usable; another page (a new `resetKey`) starts afresh.
import { Component, type ReactNode } from 'react';
import { useT } from '../i18n';

function PageFailed({ error }: { error: unknown }) {
  const t = useT();
  return (
    <div className="error-box" role="alert">
      <strong>{t('error.pageFailed')}</strong>
      <p>{t('error.pageFailedHint')}</p>
      <p className="muted small">{error instanceof Error ? error.message : String(error)}</p>
      <button type="button" className="btn btn-small" onClick={() => window.location.reload()}>
        {t('common.reload')}
      </button>
    </div>
  );
}

interface Props {
  resetKey: string;
  children: ReactNode;
}

export class PageBoundary extends Component<Props, { error: unknown; key: string }> {
  state = { error: null as unknown, key: this.props.resetKey };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: { error: unknown; key: string }) {
    return props.resetKey === state.key ? null : { error: null, key: props.resetKey };
  }

  render() {
    return this.state.error ? <PageFailed error={this.state.error} /> : this.props.children;
  }
}
