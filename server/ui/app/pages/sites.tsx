/**
 * Sites: this site's role and epoch, every site's role, replication lag,
 * object copy backlog and last error, this site's cluster members, and the
 * failover commands that fit the situation, as an operator types them. The
 * UI never runs a failover. Refreshes every few seconds (GET /api/v1/sites),
 * so a switchover is seen as it happens.
 */
import { useEffect } from 'preact/hooks';
import { Layout } from '../layout';
import { ErrorBox, Loading } from '../components/status';
import { Time, formatDuration } from '../components/time';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';

type Role = 'active' | 'draining' | 'passive' | 'fenced' | 'uninitialised';

interface SiteOverview {
  name: string;
  url: string;
  here: boolean;
  database: 'reachable' | 'unreachable';
  role: Role | null;
  epoch: number | null;
  activeSite: string | null;
  reason: string | null;
  updatedAt: string | null;
  replication: {
    appliedLsn: string;
    lastCommitTime: string | null;
    lagSeconds: number | null;
    lagBytes: number | null;
    state: string | null;
    lastError: { message: string; at: string | null } | null;
  } | null;
  objectBacklog: number | null;
  members: Record<string, number> | null;
  error?: string;
}

interface Member {
  name: string;
  url: string;
  state: string;
  executionMode: string;
  version: string;
  heartbeatAgeMs: number;
  runningExecutions: number;
  capacity: number;
  tags: string[];
}

interface SitesReport {
  site: string | null;
  member: string;
  sites: SiteOverview[];
  members: { members: Member[]; siteExecutionMode: string };
  failover: { kind: string; fromSite: string; toSite: string; startedAt: string; steps: string[] } | null;
  advice: { situation: string; summary: string; commands: Array<{ title: string; why: string; lines: string[] }> };
  checkedAt: string;
}

const REFRESH_MS = 3000;

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function Role({ role }: { role: SiteOverview['role'] }) {
  const r = role ?? 'unknown';
  return <span class={`status site-${r}`}>{r}</span>;
}

function counts(m: Record<string, number> | null): string {
  if (!m) return '—';
  const parts = Object.entries(m)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  return parts.length ? parts.join(', ') : 'none';
}

function Lag({ s }: { s: SiteOverview }) {
  if (s.role === 'active') return <span class="muted">source</span>;
  const r = s.replication;
  if (!r) return <span class="muted">{s.database === 'reachable' ? 'never replicated' : '—'}</span>;
  return (
    <>
      {r.lagBytes === null ? 'bytes ?' : bytes(r.lagBytes)}, {r.lagSeconds === null ? 's ?' : formatDuration(r.lagSeconds * 1000)}
      <div class="hint">
        applied {r.appliedLsn}
        {r.state ? `, replicator ${r.state}` : ''}
      </div>
    </>
  );
}

function SitesTable({ sites }: { sites: SiteOverview[] }) {
  return (
    <table class="list" data-testid="sites-table">
      <thead>
        <tr>
          <th scope="col">Site</th>
          <th scope="col">Role</th>
          <th scope="col">Epoch</th>
          <th scope="col">Database</th>
          <th scope="col">Replication lag</th>
          <th scope="col">Object backlog</th>
          <th scope="col">Members</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        {sites.map((s) => (
          <tr key={s.name} data-site={s.name} data-role={s.role ?? 'unknown'}>
            <th scope="row">
              {s.name}
              {s.here ? <span class="muted"> (this site)</span> : null}
              {s.url ? (
                <div class="hint">
                  <a href={s.url}>{s.url}</a>
                </div>
              ) : null}
            </th>
            <td>
              <Role role={s.role} />
              {s.reason ? <div class="hint">{s.reason}</div> : null}
            </td>
            <td>{s.epoch ?? '—'}</td>
            <td>{s.database === 'reachable' ? 'reachable' : <strong class="bad-text">unreachable</strong>}</td>
            <td>
              <Lag s={s} />
            </td>
            <td>{s.objectBacklog === null ? <span class="muted">n/a</span> : s.objectBacklog === 0 ? 'none' : `${s.objectBacklog} waiting`}</td>
            <td>{counts(s.members)}</td>
            <td>
              {s.error ? <span class="bad-text">{s.error}</span> : null}
              {s.replication?.lastError ? (
                <>
                  {s.replication.lastError.message} {s.replication.lastError.at ? <Time iso={s.replication.lastError.at} /> : null}
                </>
              ) : null}
              {!s.error && !s.replication?.lastError ? <span class="muted">none</span> : null}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Members({ members }: { members: Member[] }) {
  if (members.length === 0) return <p class="empty">No member has registered.</p>;
  return (
    <table class="list" data-testid="members-table">
      <thead>
        <tr>
          <th scope="col">Member</th>
          <th scope="col">State</th>
          <th scope="col">Executions</th>
          <th scope="col">Running</th>
          <th scope="col">Last heartbeat</th>
          <th scope="col">Version</th>
          <th scope="col">Tags</th>
        </tr>
      </thead>
      <tbody>
        {members.map((m) => (
          <tr key={m.name}>
            <th scope="row">
              {m.name}
              <div class="hint">{m.url}</div>
            </th>
            <td>
              <span class={`status member-${m.state}`}>{m.state}</span>
            </td>
            <td>{m.executionMode}</td>
            <td>
              {m.runningExecutions} / {m.capacity}
            </td>
            <td>{formatDuration(m.heartbeatAgeMs)} ago</td>
            <td>{m.version}</td>
            <td>{m.tags.join(', ') || <span class="muted">—</span>}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function SitesPage() {
  const { site } = useSession();
  const r = useFetch<SitesReport>('/api/v1/sites');
  const { reload } = r;
  useEffect(() => {
    const t = setInterval(reload, REFRESH_MS);
    return () => clearInterval(t);
  }, [reload]);
  return (
    <Layout>
      <h1>Sites</h1>
      {r.state === 'loading' ? <Loading what="the sites" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} title="Sites not shown" /> : null}
      {r.state === 'ok' ? (
        <>
          <p data-testid="this-site">
            This site: <strong>{r.data.site ?? 'single site'}</strong>, role <Role role={r.data.sites.find((s) => s.here)?.role ?? site.role} />, epoch{' '}
            <strong>{r.data.sites.find((s) => s.here)?.epoch ?? '—'}</strong>; answered by member <strong>{r.data.member}</strong>.{' '}
            <span class="muted">
              Checked <Time iso={r.data.checkedAt} />, refreshed every {REFRESH_MS / 1000} s.
            </span>
          </p>
          <SitesTable sites={r.data.sites} />
          {r.data.failover ? (
            <p class="banner-inline" role="status" data-testid="failover-running">
              A {r.data.failover.kind} {r.data.failover.fromSite} → {r.data.failover.toSite} is under way since <Time iso={r.data.failover.startedAt} />
              {r.data.failover.steps.length ? `; steps done: ${r.data.failover.steps.join(', ')}` : ''}.
            </p>
          ) : null}
          <h2>Failover</h2>
          <p data-testid="advice-summary">{r.data.advice.summary}</p>
          <p class="hint">Tandem never fails over by itself or from this page: an operator runs these commands on a host that reaches every site's database.</p>
          {r.data.advice.commands.map((c) => (
            <section class="command-group" key={c.title} aria-label={c.title}>
              <h3>{c.title}</h3>
              <p>{c.why}</p>
              <pre class="commands">{c.lines.join('\n')}</pre>
            </section>
          ))}
          <h2>Members of this site</h2>
          <Members members={r.data.members.members} />
        </>
      ) : null}
    </Layout>
  );
}
