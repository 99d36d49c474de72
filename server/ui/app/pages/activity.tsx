/**
 * Activity: a project's executions, newest first, filtered by state, job,
 * user and time window, 20 a page. The filters live in the page's address
 * (`?status=failed&user=alice`), so a filtered view can be bookmarked and
 * shared. Totals beyond 10,000 are written "more than 10,000": the API
 * stops counting there (a page of a project with millions of runs stays fast).
 */
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { seg } from '../api';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { Time, formatDuration } from '../components/time';
import { useFetch } from '../use-fetch';
import { StatusWord, type Execution } from './execution';

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'aborted', 'timedout'];
const FILTERS = ['status', 'job', 'user', 'since', 'before'] as const;
type Filter = (typeof FILTERS)[number];
const PAGE = 20;

interface ExecutionList {
  total: number;
  totalCapped?: boolean;
  limit: number;
  offset: number;
  executions: Execution[];
}

/** `2026-12-03T10:00` (a datetime-local input, local time) → ISO UTC; '' stays ''. */
function toIso(local: string): string {
  if (!local) return '';
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function toLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function FilterForm({ query, apply }: { query: Record<string, string>; apply: (q: Partial<Record<Filter, string>>) => void }) {
  const [status, setStatus] = useState(query.status ?? '');
  const [job, setJob] = useState(query.job ?? '');
  const [user, setUser] = useState(query.user ?? '');
  const [since, setSince] = useState(toLocalInput(query.since));
  const [before, setBefore] = useState(toLocalInput(query.before));
  const submit = (e: Event) => {
    e.preventDefault();
    apply({ status, job: job.trim(), user: user.trim(), since: toIso(since), before: toIso(before) });
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="Filter executions">
      <label>
        State
        <select name="status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Job name <input name="job" value={job} onInput={(e) => setJob(e.currentTarget.value)} maxLength={200} />
      </label>
      <label>
        User <input name="user" value={user} onInput={(e) => setUser(e.currentTarget.value)} maxLength={200} />
      </label>
      <label>
        Ended after <input type="datetime-local" name="since" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
      </label>
      <label>
        Ended before <input type="datetime-local" name="before" value={before} onInput={(e) => setBefore(e.currentTarget.value)} />
      </label>
      <button type="submit">Filter</button>
      <button
        type="button"
        class="secondary"
        onClick={() => {
          setStatus('');
          setJob('');
          setUser('');
          setSince('');
          setBefore('');
          apply({});
        }}
      >
        Clear
      </button>
    </form>
  );
}

export function ActivityPage({ project }: { project: string }) {
  const { path, query, route } = useLocation();
  const offset = Math.max(0, Number(query.offset) || 0);
  const api = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const f of FILTERS) if (query[f]) api.set(f, query[f]!);
  const r = useFetch<ExecutionList>(`/api/v1/projects/${seg(project)}/executions?${api.toString()}`);
  const go = (q: Record<string, string>) => {
    const u = new URLSearchParams();
    for (const [k, v] of Object.entries(q)) if (v) u.set(k, v);
    const s = u.toString();
    route(s ? `${path}?${s}` : path);
  };
  const filters: Record<string, string> = {};
  for (const f of FILTERS) if (query[f]) filters[f] = query[f]!;
  const page = r.state === 'ok' ? r.data : undefined;
  const last = page ? offset + page.executions.length : 0;
  const hasMore = page ? (page.totalCapped ? true : last < page.total) && page.executions.length === PAGE : false;
  return (
    <Layout project={project}>
      <h1>Activity</h1>
      <FilterForm key={JSON.stringify(filters)} query={query} apply={(q) => go(q as Record<string, string>)} />
      {r.state === 'loading' ? <Loading what="executions" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} /> : null}
      {page && page.executions.length === 0 ? <Empty>No execution matches.</Empty> : null}
      {page && page.executions.length > 0 ? (
        <>
          <table class="list" data-testid="activity">
            <thead>
              <tr>
                <th scope="col">State</th>
                <th scope="col">Job</th>
                <th scope="col">User</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
                <th scope="col">Duration</th>
                <th scope="col">Execution</th>
              </tr>
            </thead>
            <tbody>
              {page.executions.map((e) => (
                <tr key={e.id}>
                  <td>
                    <StatusWord status={e.status} />
                  </td>
                  <td>{e.job.group ? `${e.job.group}/${e.job.name}` : e.job.name}</td>
                  <td>{e.user ?? '—'}</td>
                  <td>
                    <Time iso={e.startedAt ?? e.createdAt} />
                  </td>
                  <td>
                    <Time iso={e.endedAt} />
                  </td>
                  <td>{e.durationMs === null ? '—' : formatDuration(e.durationMs)}</td>
                  <td>
                    <a href={`/project/${encodeURIComponent(project)}/execution/show/${encodeURIComponent(e.id)}`}>{e.id.slice(0, 8)}</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav class="pager" aria-label="Executions pages">
            <button type="button" disabled={offset === 0} onClick={() => go({ ...filters, offset: String(Math.max(0, offset - PAGE)) })}>
              ← Newer
            </button>
            <span aria-live="polite" data-testid="activity-range">
              {offset + 1}–{last} of {page.totalCapped ? `more than ${page.total.toLocaleString('en')}` : page.total.toLocaleString('en')}
            </span>
            <button type="button" disabled={!hasMore} onClick={() => go({ ...filters, offset: String(offset + PAGE) })}>
              Older →
            </button>
          </nav>
        </>
      ) : null}
    </Layout>
  );
}
