import { cloneElement, useId, type ReactElement, type ReactNode } from 'react';

/**
 * A labelled form control: <label for> + the control, so that the control's accessible name is
 * exactly the label (a wrapping label would add a select's current option to it).
 */
export function Field({
  label,
  children,
  className = 'field',
  hint,
}: {
  label: ReactNode;
  children: ReactElement<{ id?: string; 'aria-describedby'?: string }>;
  className?: string;
  hint?: ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className={className}>
      <label htmlFor={id}>{label}</label>
      {cloneElement(children, { id, ...(hint ? { 'aria-describedby': hintId } : {}) })}
      {hint && (
        <small id={hintId} className="muted">
          {hint}
        </small>
      )}
    </div>
  );
}
