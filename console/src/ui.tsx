// Small building blocks every page uses: the page heading that takes focus on navigation, errors in role=alert, a
// confirmation dialog, formatting.
import { type ReactNode, useEffect, useRef } from 'react';
import { type Action, ApiError } from './api.js';

/** The page's h1: focused when the page opens (so a screen reader announces the new page) and the document title. */
export function PageHeading({ children, title }: { children: ReactNode; title: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} — AIMS console`;
    ref.current?.focus();
  }, [title]);
  return (
    <h1 ref={ref} tabIndex={-1}>
      {children}
    </h1>
  );
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) {
    const what = error.status === 403 ? 'Forbidden (403)' : `${error.code} (${error.status})`;
    return `${what}: ${error.message}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** An error as the person must see it: what failed and the API's message. */
export function ErrorAlert({ error, what }: { error: unknown; what: string }) {
  if (error === undefined) return null;
  return (
    <div role="alert" className="alert">
      <strong>{what} failed.</strong> {errorText(error)}
    </div>
  );
}

/** What an action did (role=status) or why it failed (role=alert). */
export function ActionOutcome({ action, what }: { action: Action; what: string }) {
  return (
    <>
      <p role="status" className="result">
        {action.busy ? 'Sending…' : action.result}
      </p>
      <ErrorAlert error={action.error} what={what} />
    </>
  );
}

export function Loading({ what }: { what: string }) {
  return <p className="muted">Loading {what}…</p>;
}

/** A modal confirmation (native dialog: focus moves in, Escape cancels, focus returns to the opener). */
export function ConfirmDialog(props: {
  open: boolean;
  title: string;
  children: ReactNode;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={props.onCancel} className="dialog">
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div className="actions">
        <button type="button" className="primary" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

export const formatTime = (iso: string | undefined): string =>
  iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' }) : '—';

export const formatAmount = (amount: number, currency: string): string => {
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
};

export const formatScore = (score: number): string => score.toFixed(3);

export const percent = (share: number | undefined): string =>
  share === undefined ? '—' : `${(share * 100).toFixed(1)} %`;

export function DecisionBadge({ decision }: { decision: string }) {
  return <span className={`badge badge-${decision}`}>{decision}</span>;
}

/** Colours of the three decisions, dark enough for text contrast on white (WCAG AA). */
export const DECISION_COLOURS = { approve: '#1a7034', review: '#8a5a00', decline: '#b42318' } as const;
