// The review queue (review decisions still pending) and the list of all decisions: newest first, filters, cursor
// paging, and live updates of the first page while traffic flows (polling with backoff, new items announced politely).
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import type { DecisionSummary, DecisionsPage as Page } from '../../../lambdas/shared/contracts/review.js';
import { useSession } from '../session.js';
import { DecisionBadge, ErrorAlert, formatAmount, formatScore, formatTime, PageHeading } from '../ui.js';

/** Poll interval while the first page is shown, and the most it backs off to after failures. */
const POLL_MS = 3_000;
const MAX_POLL_MS = 60_000;
const PAGE_SIZE = 25;

interface Filters {
  decision: string;
  model: string;
  from: string;
  to: string;
  minAmount: string;
  maxAmount: string;
}
const NO_FILTERS: Filters = { decision: '', model: '', from: '', to: '', minAmount: '', maxAmount: '' };

/** datetime-local (the browser's zone) → ISO 8601 UTC, as the API's `from`/`to` want. */
const isoOf = (local: string): string | undefined => (local ? new Date(local).toISOString() : undefined);

export function DecisionsPage({ mode }: { mode: 'queue' | 'all' }) {
  const { api } = useSession();
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  /** Cursors of the pages before the current one; the current page's cursor is the last (undefined = first page). */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page>();
  const [error, setError] = useState<unknown>();
  const [announcement, setAnnouncement] = useState('');
  const [updatedAt, setUpdatedAt] = useState<Date>();
  const seen = useRef<Set<string> | undefined>(undefined);
  const cursor = cursors[cursors.length - 1];
  const title = mode === 'queue' ? 'Review queue' : 'All decisions';

  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = POLL_MS;
    seen.current = undefined;
    setAnnouncement('');
    const query = {
      ...(mode === 'all' ? { decision: filters.decision || undefined } : {}),
      model: filters.model.trim() || undefined,
      from: isoOf(filters.from),
      to: isoOf(filters.to),
      minAmount: filters.minAmount || undefined,
      maxAmount: filters.maxAmount || undefined,
      limit: PAGE_SIZE,
      cursor,
    };
    const load = async () => {
      try {
        const next = await api.get<Page>(mode === 'queue' ? '/v1/review-queue' : '/v1/decisions', query);
        if (!live) return;
        const ids = new Set(next.items.map((d) => d.transactionId));
        if (seen.current) {
          const fresh = next.items.filter((d) => !seen.current?.has(d.transactionId)).length;
          if (fresh > 0) setAnnouncement(`${fresh} new ${fresh === 1 ? 'decision' : 'decisions'} arrived.`);
        }
        seen.current = new Set([...(seen.current ?? []), ...ids]);
        setPage(next);
        setError(undefined);
        setUpdatedAt(new Date());
        delay = POLL_MS;
      } catch (e) {
        if (!live) return;
        setError(e);
        delay = Math.min(delay * 2, MAX_POLL_MS);
      }
      // Only the first page changes as decisions arrive; later pages are read once.
      if (live && cursor === undefined) timer = setTimeout(load, delay);
    };
    void load();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [api, mode, filters, cursor]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
  };
  const clear = () => {
    setDraft(NO_FILTERS);
    setFilters(NO_FILTERS);
    setCursors([undefined]);
  };
  const field = (name: keyof Filters) => ({
    id: `filter-${name}`,
    name,
    value: draft[name],
    onChange: (e: { target: { value: string } }) => setDraft({ ...draft, [name]: e.target.value }),
  });

  return (
    <>
      <PageHeading title={title}>{title}</PageHeading>
      <p className="muted">
        {mode === 'queue'
          ? 'Decisions the model sent to review that nobody has labelled or overridden yet, newest first.'
          : 'Every decision, newest first.'}{' '}
        The first page updates by itself while traffic flows.
      </p>
      <form className="filters" onSubmit={apply} aria-label="Filters">
        {mode === 'all' && (
          <div>
            <label htmlFor="filter-decision">Decision</label>
            <select {...field('decision')}>
              <option value="">any</option>
              <option value="approve">approve</option>
              <option value="review">review</option>
              <option value="decline">decline</option>
            </select>
          </div>
        )}
        <div>
          <label htmlFor="filter-model">Model</label>
          <input type="text" placeholder="e.g. fraud-detector" {...field('model')} />
        </div>
        <div>
          <label htmlFor="filter-from">From</label>
          <input type="datetime-local" {...field('from')} />
        </div>
        <div>
          <label htmlFor="filter-to">To</label>
          <input type="datetime-local" {...field('to')} />
        </div>
        <div>
          <label htmlFor="filter-minAmount">Min amount</label>
          <input type="number" min="0" step="any" inputMode="decimal" {...field('minAmount')} />
        </div>
        <div>
          <label htmlFor="filter-maxAmount">Max amount</label>
          <input type="number" min="0" step="any" inputMode="decimal" {...field('maxAmount')} />
        </div>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear}>
            Clear
          </button>
        </div>
      </form>
      <p role="status" aria-live="polite" className="live-note">
        {announcement}
      </p>
      <ErrorAlert error={error} what={`Loading the ${title.toLowerCase()}`} />
      {page ? (
        <DecisionTable items={page.items} caption={`${title}: page ${cursors.length}`} />
      ) : (
        !error && <p className="muted">Loading…</p>
      )}
      <nav aria-label="Pages" className="pager">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <button
          type="button"
          disabled={!page?.nextCursor}
          onClick={() => page?.nextCursor && setCursors([...cursors, page.nextCursor])}
        >
          Next page
        </button>
        {updatedAt && <span className="muted">Updated {updatedAt.toLocaleTimeString()}</span>}
      </nav>
    </>
  );
}

export function DecisionTable({ items, caption }: { items: readonly DecisionSummary[]; caption: string }) {
  if (items.length === 0) return <p>No decisions match.</p>;
  return (
    <div className="table-wrap">
      <table>
        <caption>{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Decided</th>
            <th scope="col">Transaction</th>
            <th scope="col">Customer</th>
            <th scope="col">Merchant</th>
            <th scope="col" className="num">
              Amount
            </th>
            <th scope="col" className="num">
              Score
            </th>
            <th scope="col">Decision</th>
            <th scope="col">Model</th>
            <th scope="col">Review</th>
          </tr>
        </thead>
        <tbody>
          {items.map((d) => (
            <tr key={d.transactionId}>
              <td>{formatTime(d.decidedAt)}</td>
              <td>
                <Link to={`/decisions/${encodeURIComponent(d.transactionId)}`}>{d.transactionId}</Link>
              </td>
              <td>{d.customerId}</td>
              <td>{d.merchantId}</td>
              <td className="num">{formatAmount(d.amount, d.currency)}</td>
              <td className="num">{formatScore(d.score)}</td>
              <td>
                <DecisionBadge decision={d.decision} />
                {d.overriddenTo && (
                  <>
                    {' → '}
                    <DecisionBadge decision={d.overriddenTo} /> <span className="muted">(overridden)</span>
                  </>
                )}
                {d.degraded && <span className="muted"> (rules)</span>}
              </td>
              <td>
                {d.model.name}@{d.model.version}
              </td>
              <td>{d.review ? d.review.status + (d.review.resolvedBy ? ` by ${d.review.resolvedBy}` : '') : '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
