// Live figures of the last hour, one point per minute: decisions by kind, flagged and fraud rates, latency p50/p99 —
// each chart with the same figures as a table.
import { useEffect, useState } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import type { LiveMinute, LiveStats } from '../../../lambdas/shared/contracts/review.js';
import { useLoad } from '../api.js';
import { useSession } from '../session.js';
import { DECISION_COLOURS, ErrorAlert, Loading, PageHeading, percent } from '../ui.js';

const REFRESH_MS = 10_000;
const WINDOW_MINUTES = 60;

const label = (m: LiveMinute) =>
  new Date(m.minute).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export function LivePage() {
  const { api } = useSession();
  const [tick, setTick] = useState(0);
  const stats = useLoad(() => api.get<LiveStats>('/v1/stats/live', { minutes: WINDOW_MINUTES }), String(tick));
  // A failing API is asked less often (up to 8× the interval) until it answers again.
  const failing = stats.error !== undefined && !stats.loading;
  useEffect(() => {
    const timer = setTimeout(() => setTick((t) => t + 1), failing ? REFRESH_MS * 8 : REFRESH_MS);
    return () => clearTimeout(timer);
  }, [failing]);

  const minutes = stats.data?.minutes ?? [];
  const points = minutes.map((m) => ({
    at: label(m),
    approve: m.approve,
    review: m.review,
    decline: m.decline,
    flagged: m.flaggedRate === undefined ? null : Number((m.flaggedRate * 100).toFixed(2)),
    fraud: m.fraudRate === undefined ? null : Number((m.fraudRate * 100).toFixed(2)),
    p50: m.latencyP50Ms ?? null,
    p99: m.latencyP99Ms ?? null,
  }));
  const total = minutes.reduce((n, m) => n + m.approve + m.review + m.decline, 0);

  return (
    <>
      <PageHeading title="Live">Live</PageHeading>
      <p className="muted">
        The last {WINDOW_MINUTES} minutes, refreshed every {REFRESH_MS / 1000} s. {total} decisions in the window.
      </p>
      <ErrorAlert error={stats.error} what="Loading the live figures" />
      {!stats.data && !stats.error && <Loading what="the live figures" />}
      {stats.data && (
        <>
          <section aria-labelledby="per-minute-heading">
            <h2 id="per-minute-heading">Decisions per minute</h2>
            <figure className="chart" aria-labelledby="per-minute-caption">
              <ResponsiveContainer width="100%" height={240}>
                <BarChart data={points}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="at" minTickGap={24} />
                  <YAxis allowDecimals={false} />
                  <Tooltip />
                  <Legend />
                  {(['approve', 'review', 'decline'] as const).map((k) => (
                    <Bar key={k} dataKey={k} stackId="d" fill={DECISION_COLOURS[k]} isAnimationActive={false} />
                  ))}
                </BarChart>
              </ResponsiveContainer>
              <figcaption id="per-minute-caption">
                Approve, review and decline decisions per minute, stacked.
              </figcaption>
            </figure>
          </section>
          <section aria-labelledby="rates-heading">
            <h2 id="rates-heading">Flagged and fraud rates</h2>
            <figure className="chart" aria-labelledby="rates-caption">
              <ResponsiveContainer width="100%" height={220}>
                <LineChart data={points}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="at" minTickGap={24} />
                  <YAxis unit=" %" />
                  <Tooltip />
                  <Legend />
                  <Line dataKey="flagged" name="flagged %" stroke="#8a5a00" dot={false} isAnimationActive={false} />
                  <Line
                    dataKey="fraud"
                    name="labelled fraud %"
                    stroke="#b42318"
                    dot={false}
                    isAnimationActive={false}
                  />
                </LineChart>
              </ResponsiveContainer>
              <figcaption id="rates-caption">
                Share of decisions flagged (review or decline), and labelled fraud among labelled decisions.
              </figcaption>
            </figure>
          </section>
          <section aria-labelledby="latency-heading">
            <h2 id="latency-heading">Latency</h2>
            <figure className="chart" aria-labelledby="latency-caption">
              <ResponsiveContainer width="100%" height={220}>
                <LineChart data={points}>
                  <CartesianGrid strokeDasharray="3 3" />
                  <XAxis dataKey="at" minTickGap={24} />
                  <YAxis unit=" ms" />
                  <Tooltip />
                  <Legend />
                  <Line dataKey="p50" name="p50 ms" stroke="#1f5fa8" dot={false} isAnimationActive={false} />
                  <Line dataKey="p99" name="p99 ms" stroke="#6b3fa0" dot={false} isAnimationActive={false} />
                </LineChart>
              </ResponsiveContainer>
              <figcaption id="latency-caption">
                Service latency of the minute's decisions, median and 99th percentile.
              </figcaption>
            </figure>
          </section>
          <details>
            <summary>The same figures as a table</summary>
            <div className="table-wrap">
              <table>
                <caption>Per minute, oldest first</caption>
                <thead>
                  <tr>
                    <th scope="col">Minute</th>
                    {['Approve', 'Review', 'Decline', 'Flagged', 'Fraud', 'p50 ms', 'p99 ms'].map((h) => (
                      <th scope="col" className="num" key={h}>
                        {h}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {minutes.map((m) => (
                    <tr key={m.minute}>
                      <td>{label(m)}</td>
                      <td className="num">{m.approve}</td>
                      <td className="num">{m.review}</td>
                      <td className="num">{m.decline}</td>
                      <td className="num">{percent(m.flaggedRate)}</td>
                      <td className="num">{percent(m.fraudRate)}</td>
                      <td className="num">{m.latencyP50Ms?.toFixed(1) ?? '—'}</td>
                      <td className="num">{m.latencyP99Ms?.toFixed(1) ?? '—'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </>
  );
}
