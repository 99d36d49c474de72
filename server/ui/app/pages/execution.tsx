/**
 * Execution: its state (written out), job, user, times, member, the result of
 * each step and node, Abort, and the log followed live (components/log-view).
 * The execution is read again every second while it has not ended.
 */
import { useEffect, useState } from 'preact/hooks';
import { ApiError, seg } from '../api';
import { Layout } from '../layout';
import { LogView } from '../components/log-view';
import { ErrorBox, Loading } from '../components/status';
import { Time, formatDuration } from '../components/time';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';

export interface Execution {
  id: string;
  project: string;
  job: { id: string | null; name: string; group: string | null };
  status: string;
  statusReason: string | null;
  trigger: string;
  user: string | null;
  member: string | null;
  attempt: number;
  createdAt: string;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  abortRequested: { at: string; by: string | null } | null;
  steps?: Array<{ step: string; node: string; status: string; exitCode: number | null; message: string | null; startedAt: string; endedAt: string | null }>;
  targetNodes?: string[];
  successfulNodes?: string[];
  failedNodes?: string[];
}

const FINAL = ['succeeded', 'failed', 'aborted', 'timedout'];

export function StatusWord({ status }: { status: string }) {
  return <span class={`status status-${status}`}>{status}</span>;
}

function AbortButton({ e, onDone }: { e: Execution; onDone: () => void }) {
  const { api, readOnly } = useSession();
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  if (FINAL.includes(e.status)) return null;
  const abort = async () => {
    setBusy(true);
    setError(null);
    try {
      await api.send('POST', `/api/v1/executions/${seg(e.id)}/abort`, {});
      onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="abort">
      <button type="button" class="danger" onClick={abort} disabled={readOnly || busy || !!e.abortRequested} aria-describedby={readOnly ? 'abort-why' : undefined}>
        {e.abortRequested ? 'Abort requested' : 'Abort'}
      </button>
      {readOnly ? (
        <span id="abort-why" class="muted">
          {' '}
          Read-only here: abort it on the active site.
        </span>
      ) : null}
      {e.abortRequested ? (
        <span class="muted">
          {' '}
          by {e.abortRequested.by ?? 'someone'} at <Time iso={e.abortRequested.at} />
        </span>
      ) : null}
      {error ? <ErrorBox error={error} title="Not aborted" /> : null}
    </div>
  );
}

function Steps({ e }: { e: Execution }) {
  if (!e.steps?.length) return <p class="muted">No step has started.</p>;
  return (
    <table class="list" aria-label="Steps and nodes">
      <thead>
        <tr>
          <th scope="col">Step</th>
          <th scope="col">Node</th>
          <th scope="col">Result</th>
          <th scope="col">Exit code</th>
          <th scope="col">Message</th>
          <th scope="col">Started</th>
          <th scope="col">Ended</th>
        </tr>
      </thead>
      <tbody>
        {e.steps.map((s) => (
          <tr key={`${s.step}@${s.node}`}>
            <td>{s.step}</td>
            <td>{s.node}</td>
            <td>
              <StatusWord status={s.status} />
            </td>
            <td>{s.exitCode ?? '—'}</td>
            <td>{s.message ?? ''}</td>
            <td>
              <Time iso={s.startedAt} />
            </td>
            <td>
              <Time iso={s.endedAt} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Nodes({ e }: { e: Execution }) {
  if (!e.targetNodes?.length) return null;
  const ok = new Set(e.successfulNodes);
  const bad = new Set(e.failedNodes);
  return (
    <>
      <h2>Nodes</h2>
      <ul class="node-results">
        {e.targetNodes.map((n) => (
          <li key={n}>
            {n}: <StatusWord status={ok.has(n) ? 'succeeded' : bad.has(n) ? 'failed' : FINAL.includes(e.status) ? 'not-run' : 'running'} />
          </li>
        ))}
      </ul>
    </>
  );
}

export function ExecutionPage({ project, id }: { project: string; id: string }) {
  const r = useFetch<Execution>(`/api/v1/executions/${seg(id)}`);
  const e = r.state === 'ok' ? r.data : undefined;
  const ended = e ? FINAL.includes(e.status) : false;
  // Read it again every second until it ends (the log tails by itself).
  useEffect(() => {
    if (!e || ended) return;
    const t = setTimeout(r.reload, 1000);
    return () => clearTimeout(t);
  });
  return (
    <Layout project={project}>
      {r.state === 'loading' ? <Loading what="the execution" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} /> : null}
      {e ? (
        <>
          <h1>
            Execution of{' '}
            {e.job.id ? <a href={`/project/${encodeURIComponent(project)}/job/show/${encodeURIComponent(e.job.id)}`}>{e.job.group ? `${e.job.group}/${e.job.name}` : e.job.name}</a> : e.job.name}{' '}
            <span data-testid="execution-status">
              <StatusWord status={e.status} />
            </span>
          </h1>
          <dl class="props">
            <dt>Execution</dt>
            <dd class="mono">{e.id}</dd>
            <dt>State</dt>
            <dd>
              {e.status}
              {e.statusReason ? ` — ${e.statusReason}` : ''}
            </dd>
            <dt>Started by</dt>
            <dd>
              {e.user ?? '—'} ({e.trigger}
              {e.attempt > 1 ? `, attempt ${e.attempt}` : ''})
            </dd>
            <dt>Created</dt>
            <dd>
              <Time iso={e.createdAt} />
            </dd>
            <dt>Started</dt>
            <dd>
              <Time iso={e.startedAt} />
            </dd>
            <dt>Ended</dt>
            <dd>
              <Time iso={e.endedAt} />
            </dd>
            <dt>Duration</dt>
            <dd>{e.durationMs === null ? '—' : formatDuration(e.durationMs)}</dd>
            <dt>Member</dt>
            <dd>{e.member ?? '—'}</dd>
          </dl>
          <AbortButton e={e} onDone={r.reload} />
          <h2>Steps</h2>
          <Steps e={e} />
          <Nodes e={e} />
          <h2>Log</h2>
          <LogView executionId={e.id} running={!ended} />
        </>
      ) : null}
    </Layout>
  );
}
