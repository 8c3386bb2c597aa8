import { useEffect, useId, useRef, type ReactNode } from 'react';
import { createPortal } from 'react-dom';
import { useT } from '../i18n';

/**
 * A modal dialog: Esc or the close button closes it; focus moves into it. Rendered into
 * <body> (a form inside it may be opened from inside another form); its submit events stop
 * here so they do not reach an enclosing form through the React tree.
 */
export function Modal({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const t = useT();
  const id = useId();
  const ref = useRef<HTMLDivElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>('input, select, textarea') ?? ref.current?.querySelector<HTMLElement>('button');
    first?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') closeRef.current();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      prev?.focus?.();
    };
  }, []);
  return createPortal(
    <div className="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()} onSubmit={(e) => e.stopPropagation()}>
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby={id} ref={ref}>
        <div className="modal-head">
          <h2 id={id}>{title}</h2>
          <button type="button" className="btn-icon" aria-label={t('common.close')} onClick={onClose}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>,
    document.body,
  );
}

/**
 * The buttons at the foot of a dialog: cancel (or close), then the action that confirms it — a
 * submit button of the dialog's form, or `onConfirm` for a dialog without one. Without
 * `confirm`, only the cancel button.
 */
export function DialogActions({
  confirm,
  onCancel,
  onConfirm,
  busy = false,
  disabled = false,
  danger = false,
  cancelLabel,
}: {
  confirm?: string;
  onCancel: () => void;
  onConfirm?: () => void;
  /** The action is under way: the confirm button is disabled. */
  busy?: boolean;
  /** The dialog is not complete yet. */
  disabled?: boolean;
  /** The action destroys or stops something. */
  danger?: boolean;
  /** Default: "Cancel". */
  cancelLabel?: string;
}) {
  const t = useT();
  return (
    <div className="form-actions">
      <button type="button" className="btn" onClick={onCancel}>
        {cancelLabel ?? t('common.cancel')}
      </button>
      {confirm !== undefined && (
        <button type={onConfirm ? 'button' : 'submit'} className={danger ? 'btn btn-danger' : 'btn btn-primary'} disabled={busy || disabled} onClick={onConfirm}>
          {confirm}
        </button>
      )}
    </div>
  );
}
