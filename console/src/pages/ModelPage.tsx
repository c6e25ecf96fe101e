// One model: versions (champion, challenger), drift per feature over time, retraining runs and their steps, and the
// approval of a pending version — operators only (aims/admin); an analyst sees why the buttons are disabled.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type {
  ApprovalResponse,
  DriftAssessment,
  ModelDetail,
  RetrainingRun,
} from '../../../lambdas/shared/contracts/api.js';
import { ApiError, seg, useAction, useLoad } from '../api.js';
import { ADMIN_SCOPE, useSession } from '../session.js';
import { ActionOutcome, ConfirmDialog, ErrorAlert, formatTime, Loading, PageHeading } from '../ui.js';

/** The retraining workflow's steps in order (RetrainingRun.step). */
const STEPS = ['coordinate', 'dataset', 'train', 'evaluate', 'gate', 'register', 'approve', 'deploy', 'rebaseline'];
/** Lines drawn in the drift chart: the features that drifted most (all are in the table). */
const CHART_FEATURES = 6;
const LINE_COLOURS = ['#1f5fa8', '#b42318', '#1a7034', '#8a5a00', '#6b3fa0', '#0f6e6e'];

export function ModelPage() {
  const { name = '' } = useParams();
  const { api } = useSession();
  const detail = useLoad(() => api.get<ModelDetail>(`/v1/models/${seg(name)}`), name);
  return (
    <>
      <PageHeading title={`Model ${name}`}>Model {name}</PageHeading>
      <p>
        <Link to="/models">All models</Link>
      </p>
      <ErrorAlert error={detail.error} what="Loading the model" />
      {!detail.data && !detail.error && <Loading what="the model" />}
      {detail.data && (
        <>
          <Versions model={detail.data} />
          <Approval model={detail.data} onDone={detail.reload} />
          <Runs runs={detail.data.executions} running={detail.data.retraining} />
        </>
      )}
      <Drift name={name} />
    </>
  );
}

function Versions({ model }: { model: ModelDetail }) {
  const challenger =
    model.pendingApproval?.version ?? model.versions.find((v) => !v.champion && v.status !== 'Rejected')?.version;
  const metricNames = [...new Set(model.versions.flatMap((v) => Object.keys(v.metrics ?? {})))].slice(0, 4);
  return (
    <section aria-labelledby="versions-heading">
      <h2 id="versions-heading">Versions</h2>
      <dl className="facts">
        <dt>Champion</dt>
        <dd>{model.champion.version}</dd>
        <dt>Approval here</dt>
        <dd>
          {model.approval === 'auto' ? 'automatic (versions that pass the gate)' : 'manual (an operator approves)'}
        </dd>
        <dt>Deployment</dt>
        <dd>{model.deployment.status}</dd>
      </dl>
      {model.versions.length === 0 ? (
        <p>No registered version yet: the bootstrap model serves.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>Registered versions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">Trigger</th>
                {metricNames.map((m) => (
                  <th scope="col" key={m} className="num">
                    {m}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {model.versions.map((v) => (
                <tr key={v.version}>
                  <td>
                    {v.version} <span className="muted">(#{v.packageVersion})</span>
                  </td>
                  <td>{v.champion ? 'champion' : v.version === challenger ? 'challenger' : '—'}</td>
                  <td>{v.status}</td>
                  <td>{formatTime(v.createdAt)}</td>
                  <td>{v.trigger ?? '—'}</td>
                  {metricNames.map((m) => (
                    <td key={m} className="num">
                      {v.metrics?.[m]?.toFixed(4) ?? '—'}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Approval({ model, onDone }: { model: ModelDetail; onDone: () => void }) {
  const { api, scopes } = useSession();
  const [asking, setAsking] = useState<'approve' | 'reject'>();
  const action = useAction();
  const pending = model.pendingApproval;
  const isOperator = scopes.includes(ADMIN_SCOPE);
  const why = !isOperator
    ? `Only operators approve or reject versions: your sign-in does not grant ${ADMIN_SCOPE}.`
    : !pending
      ? model.approval === 'auto'
        ? 'Approval is automatic in this environment.'
        : 'No version is awaiting approval.'
      : '';

  const act = () => {
    const asked = asking;
    setAsking(undefined);
    if (!asked || !pending) return;
    void action.run(async () => {
      const done = await api.post<ApprovalResponse>(
        `/v1/models/${seg(model.name)}/versions/${seg(pending.version)}/${asked}`,
        { reason: `${asked === 'approve' ? 'approved' : 'rejected'} in the console` },
      );
      onDone();
      return `Version ${done.version} ${done.decision}.`;
    });
  };

  return (
    <section aria-labelledby="approval-heading">
      <h2 id="approval-heading">Approval</h2>
      <p>
        {pending ? (
          <>
            Version <strong>{pending.version}</strong> passed the quality gate and awaits approval.
          </>
        ) : (
          'No version awaits approval.'
        )}
      </p>
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={action.busy || why !== ''}
          aria-describedby={why ? 'approval-why' : undefined}
          onClick={() => setAsking('approve')}
        >
          Approve
        </button>
        <button
          type="button"
          className="danger"
          disabled={action.busy || why !== ''}
          aria-describedby={why ? 'approval-why' : undefined}
          onClick={() => setAsking('reject')}
        >
          Reject
        </button>
      </div>
      {why && (
        <p id="approval-why" className="muted">
          {why}
        </p>
      )}
      <ActionOutcome action={action} what="The approval" />
      <ConfirmDialog
        open={asking !== undefined}
        title={asking === 'approve' ? 'Approve this version?' : 'Reject this version?'}
        confirmLabel={asking === 'approve' ? 'Approve and deploy' : 'Reject'}
        onConfirm={act}
        onCancel={() => setAsking(undefined)}
      >
        <p>
          {asking === 'approve'
            ? `Version ${pending?.version} of ${model.name} will be deployed with a canary and replace the champion.`
            : `Version ${pending?.version} of ${model.name} will never serve; the champion keeps serving.`}
        </p>
      </ConfirmDialog>
    </section>
  );
}

function Runs({ runs, running }: { runs: readonly RetrainingRun[]; running: RetrainingRun | null }) {
  return (
    <section aria-labelledby="runs-heading">
      <h2 id="runs-heading">Retraining runs</h2>
      {running && (
        <>
          <p>
            Run {running.executionId} is {running.status.toLowerCase()} (trigger {running.trigger ?? '—'}):
          </p>
          <ol className="steps" aria-label="Steps of the running retraining">
            {STEPS.map((s) => (
              <li key={s} aria-current={s === running.step ? 'step' : undefined}>
                {s}
              </li>
            ))}
          </ol>
        </>
      )}
      {runs.length === 0 ? (
        <p>No retraining run yet.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <caption>Latest retraining runs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Step</th>
                <th scope="col">Trigger</th>
                <th scope="col">Started</th>
                <th scope="col">Stopped</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr key={r.executionArn}>
                  <td>{r.executionId}</td>
                  <td>{r.status}</td>
                  <td>
                    {r.step ?? '—'}
                    {r.state && r.state !== r.step ? <span className="muted"> ({r.state})</span> : null}
                  </td>
                  <td>{r.trigger ?? '—'}</td>
                  <td>{formatTime(r.startedAt)}</td>
                  <td>{formatTime(r.stoppedAt)}</td>
                  <td>{r.error ? `${r.error}${r.cause ? `: ${r.cause.slice(0, 120)}` : ''}` : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The drift route answers the latest assessment, or (with the drift history) a list of them: take either. */
function assessmentsOf(body: unknown): DriftAssessment[] {
  const list = Array.isArray(body)
    ? body
    : typeof body === 'object' && body !== null
      ? ((body as { assessments?: unknown; items?: unknown }).assessments ??
        (body as { items?: unknown }).items ?? [body])
      : [];
  return (list as DriftAssessment[])
    .filter((a) => Array.isArray(a?.features))
    .sort((a, b) => a.assessedAt.localeCompare(b.assessedAt));
}

function Drift({ name }: { name: string }) {
  const { api } = useSession();
  const drift = useLoad(
    () =>
      api.get<unknown>(`/v1/models/${seg(name)}/drift`).then(assessmentsOf, (e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return [];
        throw e;
      }),
    name,
  );
  const history = drift.data ?? [];
  const latest = history[history.length - 1];
  const top = latest
    ? [...latest.features].sort((a, b) => b.psi / b.threshold - a.psi / a.threshold).slice(0, CHART_FEATURES)
    : [];
  const points = history.map((a) => ({
    at: new Date(a.assessedAt).toLocaleTimeString(),
    ...Object.fromEntries(a.features.map((f) => [f.name, Number(f.psi.toFixed(4))])),
  }));
  return (
    <section aria-labelledby="drift-heading">
      <h2 id="drift-heading">Drift</h2>
      <ErrorAlert error={drift.error} what="Loading the drift checks" />
      {drift.loading && !drift.data && <Loading what="the drift checks" />}
      {drift.data && !latest && <p>No drift check has judged this model yet.</p>}
      {latest && (
        <>
          <p>
            Last check {formatTime(latest.assessedAt)}: {latest.samples} samples,{' '}
            {!latest.judged
              ? `too few to judge (needs ${latest.minSamples})`
              : latest.drifted
                ? 'drift detected'
                : 'no drift'}
            ; score PSI {latest.scorePsi.toFixed(3)}, largest feature PSI {latest.maxFeaturePsi.toFixed(3)}.
          </p>
          {history.length > 1 && (
            <figure className="chart" aria-labelledby="drift-caption">
              <ResponsiveContainer width="100%" height={260}>
                <LineChart data={points} margin={{ left: 8, right: 24 }}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="at" />
                  <YAxis />
                  <Tooltip />
                  <Legend />
                  {top.map((f, i) => (
                    <Line
                      key={f.name}
                      dataKey={f.name}
                      stroke={LINE_COLOURS[i % LINE_COLOURS.length]}
                      dot={false}
                      isAnimationActive={false}
                    />
                  ))}
                </LineChart>
              </ResponsiveContainer>
              <figcaption id="drift-caption">
                PSI per feature over the last {history.length} checks (the {top.length} nearest their thresholds).
              </figcaption>
            </figure>
          )}
          <div className="table-wrap">
            <table>
              <caption>PSI per feature at the last check</caption>
              <thead>
                <tr>
                  <th scope="col">Feature</th>
                  <th scope="col" className="num">
                    PSI
                  </th>
                  <th scope="col" className="num">
                    Threshold
                  </th>
                  <th scope="col">Drifted</th>
                </tr>
              </thead>
              <tbody>
                {latest.features.map((f) => (
                  <tr key={f.name}>
                    <td>{f.name}</td>
                    <td className="num">{f.psi.toFixed(4)}</td>
                    <td className="num">{f.threshold.toFixed(2)}</td>
                    <td>{f.drifted ? 'yes' : 'no'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}
