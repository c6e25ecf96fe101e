// One decision: the transaction, score, decision, reasons, the top attributions (chart and table), the model version,
// the audit trail and the customer's recent decisions; an analyst labels it (fraud / legitimate → POST /v1/feedback)
// or overrides it with a note (→ a new audit record pointing at this one).
import { type FormEvent, useState } from 'react';
import { Link, useParams } from 'react-router';
import { Bar, BarChart, CartesianGrid, Cell, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { DecisionRecord, FeedbackRequest, FeedbackResponse } from '../../../lambdas/shared/contracts/api.js';
import type {
  AuditTrail,
  DecisionsPage,
  OverrideRecord,
  OverrideRequest,
} from '../../../lambdas/shared/contracts/review.js';
import type { Decision } from '../../../models/shared/contracts/decision.js';
import { seg, useAction, useLoad } from '../api.js';
import { useSession } from '../session.js';
import {
  ActionOutcome,
  ConfirmDialog,
  DecisionBadge,
  ErrorAlert,
  formatAmount,
  formatScore,
  formatTime,
  Loading,
  PageHeading,
} from '../ui.js';
import { DecisionTable } from './DecisionsPage.js';

const DECISIONS: readonly Decision[] = ['approve', 'review', 'decline'];

type Pending = { kind: 'label'; isFraud: boolean } | { kind: 'override'; decision: Decision; note: string } | undefined;

export function DecisionPage() {
  const { id = '' } = useParams();
  const { api } = useSession();
  const record = useLoad(() => api.get<DecisionRecord>(`/v1/decisions/${seg(id)}`), id);
  const audit = useLoad(() => api.get<AuditTrail>(`/v1/decisions/${seg(id)}/audit`), id);
  const customerId = record.data?.customerId;
  const recent = useLoad(
    () =>
      customerId
        ? api.get<DecisionsPage>('/v1/decisions', { customerId, limit: 10 })
        : Promise.resolve<DecisionsPage>({ items: [] }),
    customerId ?? '',
  );

  return (
    <>
      <PageHeading title={`Decision ${id}`}>Decision {id}</PageHeading>
      <p>
        <Link to="/queue">Back to the review queue</Link>
      </p>
      <ErrorAlert error={record.error} what="Loading the decision" />
      {record.data ? <Overview record={record.data} /> : !record.error && <Loading what="the decision" />}
      {record.data && (
        <Actions
          record={record.data}
          audit={audit.data}
          onDone={() => {
            // The audit trail and the customer's list (review state, override) both change with an action.
            audit.reload();
            recent.reload();
          }}
        />
      )}
      <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Audit trail</h2>
        <ErrorAlert error={audit.error} what="Loading the audit trail" />
        {audit.data ? <Audit trail={audit.data} /> : !audit.error && <Loading what="the audit trail" />}
      </section>
      <section aria-labelledby="recent-heading">
        <h2 id="recent-heading">The customer's recent decisions</h2>
        <ErrorAlert error={recent.error} what="Loading the customer's decisions" />
        {recent.data && customerId && (
          <DecisionTable items={recent.data.items} caption={`Latest decisions of customer ${customerId}`} />
        )}
      </section>
    </>
  );
}

function Overview({ record }: { record: DecisionRecord }) {
  const t = record.transaction;
  return (
    <>
      <section aria-labelledby="decision-heading">
        <h2 id="decision-heading">Score and decision</h2>
        <dl className="facts">
          <dt>Decision</dt>
          <dd>
            <DecisionBadge decision={record.decision} />
            {record.degraded && ' (the rules decided: the model was unavailable)'}
          </dd>
          <dt>Score</dt>
          <dd>{formatScore(record.score)}</dd>
          <dt>Model</dt>
          <dd>
            {record.model.name} version {record.model.version}
          </dd>
          <dt>Decided</dt>
          <dd>{formatTime(record.decidedAt)}</dd>
          <dt>Latency</dt>
          <dd>{record.latencyMs.toFixed(1)} ms</dd>
        </dl>
        <h3>Reasons</h3>
        {record.reasons.length ? (
          <ul>
            {record.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
        ) : (
          <p>No rule fired.</p>
        )}
      </section>
      <section aria-labelledby="transaction-heading">
        <h2 id="transaction-heading">Transaction</h2>
        <dl className="facts">
          <dt>Amount</dt>
          <dd>{formatAmount(t.amount, t.currency)}</dd>
          <dt>Customer</dt>
          <dd>{t.customerId}</dd>
          <dt>Merchant</dt>
          <dd>
            {t.merchantId} ({t.merchantCategory})
          </dd>
          <dt>Country, channel</dt>
          <dd>
            {t.country}, {t.channel}
          </dd>
          <dt>Device</dt>
          <dd>{t.deviceId ?? '—'}</dd>
          <dt>Time</dt>
          <dd>{formatTime(t.timestamp)}</dd>
        </dl>
      </section>
      <Attributions record={record} />
    </>
  );
}

function Attributions({ record }: { record: DecisionRecord }) {
  const data = record.explanation.map((a) => ({ feature: a.feature, contribution: Number(a.contribution.toFixed(4)) }));
  return (
    <section aria-labelledby="attributions-heading">
      <h2 id="attributions-heading">Top attributions</h2>
      {data.length === 0 ? (
        <p>No attributions were recorded.</p>
      ) : (
        <>
          <figure className="chart" aria-labelledby="attributions-caption">
            <ResponsiveContainer width="100%" height={Math.max(160, 36 * data.length)}>
              <BarChart data={data} layout="vertical" margin={{ left: 24, right: 24 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                <XAxis type="number" />
                <YAxis type="category" dataKey="feature" width={180} />
                <Tooltip />
                <Bar dataKey="contribution" name="contribution to the score" isAnimationActive={false}>
                  {data.map((d) => (
                    <Cell key={d.feature} fill={d.contribution >= 0 ? '#b42318' : '#1a7034'} />
                  ))}
                </Bar>
              </BarChart>
            </ResponsiveContainer>
            <figcaption id="attributions-caption">
              How much each feature moved the score (red raises it, green lowers it); the same figures are in the table
              below.
            </figcaption>
          </figure>
          <table>
            <caption>Attributions, largest first</caption>
            <thead>
              <tr>
                <th scope="col">Feature</th>
                <th scope="col" className="num">
                  Contribution
                </th>
                <th scope="col">Feature value</th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr key={d.feature}>
                  <td>{d.feature}</td>
                  <td className="num">{d.contribution.toFixed(4)}</td>
                  <td className="num">{record.features[d.feature]?.toFixed(4) ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Audit({ trail }: { trail: AuditTrail }) {
  return (
    <>
      <p>
        Decision in force: <DecisionBadge decision={trail.effectiveDecision} />
        {trail.review && (
          <>
            {' '}
            · review {trail.review.status}
            {trail.review.resolvedBy && ` by ${trail.review.resolvedBy}`}
            {trail.review.resolvedAt && ` at ${formatTime(trail.review.resolvedAt)}`}
          </>
        )}
      </p>
      <h3>Label</h3>
      {trail.label ? (
        <p className="audit-label">
          {trail.label.isFraud ? 'Fraud' : 'Legitimate'} (source {trail.label.source}
          {trail.label.actor && `, by ${trail.label.actor.principal}`}), recorded {formatTime(trail.label.recordedAt)}
        </p>
      ) : (
        <p>No label yet.</p>
      )}
      <h3>Overrides</h3>
      {trail.overrides.length ? (
        <ol className="audit-overrides">
          {trail.overrides.map((o) => (
            <li key={o.overrideId}>
              {formatTime(o.overriddenAt)}: <DecisionBadge decision={o.previousDecision} /> →{' '}
              <DecisionBadge decision={o.decision} /> by {o.actor.principal} — “{o.note}”
            </li>
          ))}
        </ol>
      ) : (
        <p>No override.</p>
      )}
    </>
  );
}

function Actions({ record, audit, onDone }: { record: DecisionRecord; audit?: AuditTrail; onDone: () => void }) {
  const { api } = useSession();
  const inForce = audit?.effectiveDecision ?? record.decision;
  const [overrideTo, setOverrideTo] = useState<Decision>(inForce === 'approve' ? 'decline' : 'approve');
  const [note, setNote] = useState('');
  const [pending, setPending] = useState<Pending>();
  const action = useAction();

  const askOverride = (event: FormEvent) => {
    event.preventDefault();
    if (!note.trim()) {
      action.fail(new Error('Write a note that says why you override the model.'));
      return;
    }
    setPending({ kind: 'override', decision: overrideTo, note: note.trim() });
  };

  const confirm = () => {
    const asked = pending;
    setPending(undefined);
    if (!asked) return;
    void action.run(async () => {
      let said: string;
      if (asked.kind === 'label') {
        const body: FeedbackRequest = {
          transactionId: record.transactionId,
          isFraud: asked.isFraud,
          reportedAt: new Date().toISOString(),
          source: 'analyst',
        };
        const saved = await api.post<FeedbackResponse>('/v1/feedback', body);
        said = `Label saved: ${saved.isFraud ? 'fraud' : 'legitimate'}, recorded ${formatTime(saved.recordedAt)}.`;
      } else {
        const body: OverrideRequest = { decision: asked.decision, note: asked.note };
        const saved = await api.post<OverrideRecord>(`/v1/decisions/${seg(record.transactionId)}/overrides`, body);
        said = `Override recorded: ${saved.previousDecision} → ${saved.decision} (${saved.overrideId}).`;
        setNote('');
      }
      onDone();
      return said;
    });
  };

  return (
    <section aria-labelledby="actions-heading">
      <h2 id="actions-heading">Actions</h2>
      <div className="actions">
        <button
          type="button"
          className="danger"
          disabled={action.busy}
          onClick={() => setPending({ kind: 'label', isFraud: true })}
        >
          Confirm fraud
        </button>
        <button type="button" disabled={action.busy} onClick={() => setPending({ kind: 'label', isFraud: false })}>
          Legitimate
        </button>
      </div>
      <form className="override" onSubmit={askOverride} aria-labelledby="override-heading">
        <h3 id="override-heading">Override the decision</h3>
        <div>
          <label htmlFor="override-decision">New decision</label>
          <select id="override-decision" value={overrideTo} onChange={(e) => setOverrideTo(e.target.value as Decision)}>
            {DECISIONS.map((d) => (
              <option key={d} value={d}>
                {d}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="override-note">Note (why)</label>
          <textarea
            id="override-note"
            required
            maxLength={1000}
            value={note}
            onChange={(e) => setNote(e.target.value)}
          />
        </div>
        <button type="submit" disabled={action.busy}>
          Override
        </button>
      </form>
      <ActionOutcome action={action} what="The action" />
      <ConfirmDialog
        open={pending !== undefined}
        title={pending?.kind === 'override' ? 'Override this decision?' : 'Label this transaction?'}
        confirmLabel={
          pending?.kind === 'override' ? 'Record override' : pending?.isFraud ? 'Yes, it is fraud' : 'Yes, legitimate'
        }
        onConfirm={confirm}
        onCancel={() => setPending(undefined)}
      >
        {pending?.kind === 'label' && (
          <p>
            Transaction {record.transactionId} will be labelled{' '}
            <strong>{pending.isFraud ? 'fraud' : 'legitimate'}</strong>. The label feeds model monitoring and
            retraining.
          </p>
        )}
        {pending?.kind === 'override' && (
          <p>
            The decision in force, <strong>{inForce}</strong>, becomes <strong>{pending.decision}</strong>. A new audit
            record keeps your note; the original decision is not changed.
          </p>
        )}
      </ConfirmDialog>
    </section>
  );
}
