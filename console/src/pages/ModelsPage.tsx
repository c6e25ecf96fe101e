// Every model the stage serves: its champion, how versions are approved, what is retraining or awaiting approval.
import { Link } from 'react-router';
import type { ModelList } from '../../../lambdas/shared/contracts/api.js';
import { useLoad } from '../api.js';
import { useSession } from '../session.js';
import { ErrorAlert, formatTime, Loading, PageHeading } from '../ui.js';

export function ModelsPage() {
  const { api } = useSession();
  const list = useLoad(() => api.get<ModelList>('/v1/models'), 'models');
  return (
    <>
      <PageHeading title="Models">Models</PageHeading>
      <ErrorAlert error={list.error} what="Loading the models" />
      {!list.data && !list.error && <Loading what="the models" />}
      {list.data && (
        <div className="table-wrap">
          <table>
            <caption>Models, their champions and pending versions</caption>
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col">Champion</th>
                <th scope="col">Versions</th>
                <th scope="col">Approval</th>
                <th scope="col">Awaiting approval</th>
                <th scope="col">Retraining</th>
              </tr>
            </thead>
            <tbody>
              {list.data.models.map((m) => (
                <tr key={m.name}>
                  <td>
                    <Link to={`/models/${encodeURIComponent(m.name)}`}>{m.name}</Link>
                  </td>
                  <td>{m.championVersion}</td>
                  <td>{m.versions.length}</td>
                  <td>{m.approval}</td>
                  <td>{m.pendingApproval ? m.pendingApproval.version : '—'}</td>
                  <td>
                    {m.retraining
                      ? `${m.retraining.status} at ${m.retraining.step ?? m.retraining.state ?? '?'} since ${formatTime(m.retraining.startedAt)}`
                      : '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
