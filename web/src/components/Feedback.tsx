// Loading, empty and error states shared by every page.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { useT } from '../i18n';

export function Loading({ label }: { label?: string }) {
  const t = useT();
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <div className="empty-hint">{children}</div>}
    </div>
  );
}

/** Shows the API's own `{"error": {...}}` message, with its name and field. */
export function ErrorBox({ error, onRetry, title }: { error: unknown; onRetry?: () => void; title?: string }) {
  const t = useT();
  if (!error) return null;
  let message: string;
  let detail: string | null = null;
  if (error instanceof ApiError) {
    message = error.status === 0 ? t('error.network', { message: error.message }) : error.message;
    const parts: string[] = [];
    if (error.status) parts.push(`HTTP ${error.status}`);
    if (error.name && error.name !== 'http_error') parts.push(error.code ? `${error.name} (${error.code})` : error.name);
    if (error.field) parts.push(t('error.field', { field: error.field }));
    detail = parts.join(' · ');
    if (error.status === 403) message = `${t('error.forbidden')} ${message}`;
  } else {
    message = error instanceof Error ? error.message : String(error);
  }
  return (
    <div className="error-box" role="alert">
      <strong>{title ?? t('error.title')}</strong>
      <p>{message}</p>
      {detail && <p className="muted small">{detail}</p>}
      {onRetry && (
        <button type="button" className="btn btn-small" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function NoPermission({ permission }: { permission: string }) {
  const t = useT();
  return <EmptyState title={t('common.noPermission')}>{t('common.noPermissionHint', { permission })}</EmptyState>;
}
