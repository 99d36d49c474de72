/**
 * Audit: the audit trail, newest first (GET /api/v1/audit), filtered by
 * event and user, a page at a time (the API pages by time: `before` the
 * oldest event shown). For those the ACL lets read `audit`; others are told
 * plainly that they may not.
 */
import { useState } from 'preact/hooks';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { Time } from '../components/time';
import { useFetch } from '../use-fetch';

interface AuditEvent {
  id: string;
  at: string;
  event: string;
  outcome: string;
  username: string | null;
  clientAddr: string | null;
  target: string | null;
  details: Record<string, unknown>;
}

const PAGE = 50;

export function AuditPage() {
  const [event, setEvent] = useState('');
  const [user, setUser] = useState('');
  const [applied, setApplied] = useState({ event: '', user: '' });
  // The `before` cursor of every page shown so far: the last one is the current page.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const before = cursors[cursors.length - 1];
  const q = new URLSearchParams({ limit: String(PAGE) });
  if (applied.event) q.set('event', applied.event);
  if (applied.user) q.set('user', applied.user);
  if (before) q.set('before', before);
  const r = useFetch<{ events: AuditEvent[]; next: string | null }>(`/api/v1/audit?${q}`);
  const search = (e: Event) => {
    e.preventDefault();
    setApplied({ event: event.trim(), user: user.trim() });
    setCursors([null]);
  };
  const forbidden = r.state === 'error' && r.error.status === 403;
  return (
    <Layout>
      <h1>Audit</h1>
      {forbidden ? (
        <div class="error-box" role="alert" data-testid="audit-forbidden">
          <strong>Not allowed:</strong> you may not read the audit trail (the ACL grants <code>read</code> on <code>audit</code> to those who may). {r.error.message}
        </div>
      ) : (
        <form class="inline-form" onSubmit={search} aria-label="Filter the audit trail">
          <label>
            Event <input name="event" value={event} placeholder="e.g. login" onInput={(e) => setEvent(e.currentTarget.value)} />
          </label>
          <label>
            User <input name="user" value={user} onInput={(e) => setUser(e.currentTarget.value)} />
          </label>
          <button type="submit">Filter</button>
        </form>
      )}
      {r.state === 'loading' ? <Loading what="the audit trail" /> : null}
      {r.state === 'error' && !forbidden ? <ErrorBox error={r.error} title="Audit trail not shown" /> : null}
      {r.state === 'ok' && r.data.events.length === 0 ? <Empty>No audit event{applied.event || applied.user ? ' matches the filter' : ''}.</Empty> : null}
      {r.state === 'ok' && r.data.events.length > 0 ? (
        <table class="list" data-testid="audit-table">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Outcome</th>
              <th scope="col">User</th>
              <th scope="col">Client</th>
              <th scope="col">Target</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {r.data.events.map((e) => (
              <tr key={e.id}>
                <td>
                  <Time iso={e.at} />
                </td>
                <td>{e.event}</td>
                <td>
                  <span class={`status audit-${e.outcome}`}>{e.outcome}</span>
                </td>
                <td>{e.username ?? <span class="muted">—</span>}</td>
                <td>{e.clientAddr ?? <span class="muted">—</span>}</td>
                <td>{e.target ?? <span class="muted">—</span>}</td>
                <td>
                  <code>{Object.keys(e.details).length ? JSON.stringify(e.details) : ''}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {r.state === 'ok' ? (
        <nav class="pager" aria-label="Audit pages">
          <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
            ← Newer
          </button>
          <span aria-live="polite">Page {cursors.length}</span>
          <button type="button" disabled={!r.data.next} onClick={() => setCursors((c) => [...c, r.data.next])}>
            Older →
          </button>
        </nav>
      ) : null}
    </Layout>
  );
}
