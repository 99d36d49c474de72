/**
 * One job: its definition (steps, options, schedule with the next fire times
 * in the job's zone, node filter and the nodes it matches), its recent
 * executions, and the run form built from its options.
 *
 * Secure options: typed into password inputs, read from the form only when
 * it is sent, then cleared; their stored defaults are never rendered (the API
 * gives them to those who may update the job, the page leaves them out).
 * Checking values (regex, enforced lists, required) is the server's: its 400
 * is shown naming the option.
 */
import { useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { ApiError, seg } from '../api';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { Time, formatDuration } from '../components/time';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';
// The server's own types (erased from the bundle: type-only), so that the page follows the definition as the API sends it.
import type { JobDefinition, JobOption, Step } from '../../../jobs/definition';
import type { VisibleOption } from '../../../jobs/secure-defaults';

interface Job {
  id: string;
  project: string;
  name: string;
  group: string | null;
  description: string;
  executionEnabled: boolean;
  scheduleEnabled: boolean;
  schedule: { description: string; timeZone: string; nextFireTimes: string[] } | null;
  /** As the API sends it: a reader gets secure options without their default (secure-defaults.ts). */
  definition: JobDefinition & { options: VisibleOption[] };
}

interface Execution {
  id: string;
  status: string;
  user: string;
  trigger: string;
  createdAt: string;
  startedAt: string | null;
  durationMs: number | null;
}

const FIRE_TIMES = 5;

const yes = (v: unknown) => v === true || v === 'true';

function multiDelimiter(o: JobOption): string | null {
  if (!yes(o.extra.multivalued)) return null;
  const d = o.extra.delimiter;
  return typeof d === 'string' && d !== '' ? d : ',';
}

/** A fire time as read in the job's own zone (and the zone said), whatever the browser's zone. */
function inZone(iso: string, timeZone: string): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone, dateStyle: 'full', timeStyle: 'long' }).format(new Date(iso));
  } catch {
    return iso;
  }
}

function Steps({ steps }: { steps: Step[] }) {
  if (!steps.length) return <Empty>No step.</Empty>;
  return (
    <ol class="steps">
      {steps.map((s, i) => (
        <li key={i}>
          {s.description ? <div class="muted">{s.description}</div> : null}
          {s.kind === 'exec' ? (
            <>
              Command <code>{s.exec}</code>
            </>
          ) : s.kind === 'script' ? (
            <>
              Script{s.interpreter ? ` (${s.interpreter})` : ''}
              {s.args ? (
                <>
                  {' '}
                  with arguments <code>{s.args}</code>
                </>
              ) : null}
              <pre>{s.script}</pre>
            </>
          ) : (
            <>
              Job reference{' '}
              <code>
                {s.ref.project ? `${s.ref.project}: ` : ''}
                {s.ref.group ? `${s.ref.group}/` : ''}
                {s.ref.name ?? s.ref.uuid}
              </code>
              {s.ref.args ? (
                <>
                  {' '}
                  with arguments <code>{s.ref.args}</code>
                </>
              ) : null}
            </>
          )}
        </li>
      ))}
    </ol>
  );
}

function OptionsTable({ options }: { options: JobOption[] }) {
  if (!options.length) return <Empty>This job takes no option.</Empty>;
  return (
    <table class="list">
      <thead>
        <tr>
          <th scope="col">Option</th>
          <th scope="col">Required</th>
          <th scope="col">Default</th>
          <th scope="col">Allowed values</th>
          <th scope="col">Must match</th>
          <th scope="col">Kind</th>
        </tr>
      </thead>
      <tbody>
        {options.map((o) => {
          const delim = multiDelimiter(o);
          return (
            <tr key={o.name}>
              <th scope="row">
                {o.name}
                {o.description ? <div class="hint">{o.description}</div> : null}
              </th>
              <td>{o.required ? 'required' : 'optional'}</td>
              {/* A secure option's default is never shown, whoever looks. */}
              <td>{o.secure ? <span class="muted">(secure)</span> : o.defaultValue ? <code>{o.defaultValue}</code> : <span class="muted">—</span>}</td>
              <td>{o.values?.length ? `${o.values.join(', ')}${o.enforced ? ' (only these)' : ' (suggested)'}` : <span class="muted">any</span>}</td>
              <td>{o.regex ? <code>{o.regex}</code> : <span class="muted">—</span>}</td>
              <td>
                {[o.secure ? 'secure' : null, delim ? `several values, separated by “${delim}”` : null].filter(Boolean).join('; ') || 'text'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function MatchedNodes({ project, filter }: { project: string; filter: string }) {
  const r = useFetch<{ total: number; nodes: { name: string; tags?: string[]; attributes?: Record<string, string> }[] }>(
    `/api/v1/projects/${seg(project)}/nodes?filter=${encodeURIComponent(filter)}`,
  );
  if (r.state === 'loading') return <Loading what="matching nodes" />;
  if (r.state === 'error') return <ErrorBox error={r.error} title="Nodes not available" />;
  if (!r.data.total) return <Empty>No node of the project matches this filter now.</Empty>;
  return (
    <>
      <p>
        Matches {r.data.total} {r.data.total === 1 ? 'node' : 'nodes'}
        {r.data.total > 50 ? ' (the first 50 shown)' : ''}:
      </p>
      <ul class="node-list" aria-label="Matching nodes">
        {r.data.nodes.slice(0, 50).map((n) => (
          <li key={n.name}>
            {n.name}
            {n.attributes?.hostname ? <span class="muted"> ({n.attributes.hostname})</span> : null}
          </li>
        ))}
      </ul>
    </>
  );
}

function RecentExecutions({ project, jobId }: { project: string; jobId: string }) {
  const r = useFetch<{ total: number; executions: Execution[] }>(`/api/v1/projects/${seg(project)}/executions?jobId=${encodeURIComponent(jobId)}&limit=10`);
  if (r.state === 'loading') return <Loading what="executions" />;
  if (r.state === 'error') return <ErrorBox error={r.error} />;
  if (!r.data.executions.length) return <Empty>Not run yet.</Empty>;
  return (
    <table class="list" aria-label="Recent executions">
      <thead>
        <tr>
          <th scope="col">Execution</th>
          <th scope="col">Status</th>
          <th scope="col">By</th>
          <th scope="col">Started</th>
          <th scope="col">Duration</th>
        </tr>
      </thead>
      <tbody>
        {r.data.executions.map((e) => (
          <tr key={e.id}>
            <td>
              <a href={`/project/${seg(project)}/execution/show/${seg(e.id)}`}>#{e.id.slice(0, 8)}</a>
            </td>
            <td>
              <span class={`status status-${e.status}`}>{e.status}</span>
            </td>
            <td>
              {e.user} <span class="muted">({e.trigger})</span>
            </td>
            <td>
              <Time iso={e.startedAt ?? e.createdAt} />
            </td>
            <td>{e.durationMs === null ? '—' : formatDuration(e.durationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function OptionInput({ o }: { o: VisibleOption }) {
  const id = `opt-${o.name}`;
  const delim = multiDelimiter(o);
  // A reader gets a secure option without its default, marked defaultHidden: the default still applies.
  const secureDefault = o.secure && (o.defaultValue !== undefined || o.defaultHidden === true);
  const hints: string[] = [];
  if (o.description) hints.push(o.description);
  if (secureDefault) hints.push('a default is set: leave empty to use it');
  if (o.regex) hints.push(`must match the regular expression ${o.regex}`);
  if (delim && !(o.enforced && o.values?.length)) hints.push(`several values: separate them with “${delim}”`);
  if (o.values?.length && !o.enforced) hints.push(`suggested: ${o.values.join(', ')}`);
  const hintId = hints.length ? `${id}-hint` : undefined;
  const label = (
    <>
      {o.name}
      {o.required ? <span class="muted"> (required)</span> : null}
      {o.secure ? <span class="muted"> (secure)</span> : null}
    </>
  );
  let input;
  if (o.secure) {
    // Never pre-filled: a secure default stays on the server and applies when the field is left empty.
    input = <input id={id} name={o.name} type="password" autocomplete="new-password" required={o.required && !secureDefault} aria-describedby={hintId} />;
  } else if (o.enforced && o.values?.length) {
    const defaults = o.defaultValue ? (delim ? o.defaultValue.split(delim) : [o.defaultValue]) : [];
    input = (
      <select id={id} name={o.name} multiple={!!delim} required={o.required} aria-describedby={hintId}>
        {!delim && !o.required ? <option value="">(none)</option> : null}
        {!delim && o.required && !o.defaultValue ? <option value="">(choose)</option> : null}
        {o.values.map((v) => (
          <option key={v} value={v} selected={defaults.includes(v)}>
            {v}
          </option>
        ))}
      </select>
    );
  } else {
    input = (
      <>
        <input id={id} name={o.name} type="text" defaultValue={o.defaultValue ?? ''} required={o.required && !o.defaultValue} list={o.values?.length ? `${id}-values` : undefined} aria-describedby={hintId} />
        {o.values?.length ? (
          <datalist id={`${id}-values`}>
            {o.values.map((v) => (
              <option key={v} value={v} />
            ))}
          </datalist>
        ) : null}
      </>
    );
  }
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {input}
      {hintId ? (
        <div id={hintId} class="hint">
          {hints.join(' · ')}
        </div>
      ) : null}
    </div>
  );
}

function RunForm({ job }: { job: Job }) {
  const { api, readOnly } = useSession();
  const { route } = useLocation();
  const formRef = useRef<HTMLFormElement>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const editable = yes(job.definition.extra.nodeFilterEditable);
  const why = readOnly
    ? 'This site is read-only: run the job on the active site.'
    : !job.executionEnabled
      ? 'Execution is disabled for this job.'
      : null;
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = formRef.current!;
    const options: Record<string, string | string[]> = {};
    for (const o of job.definition.options) {
      const el = form.elements.namedItem(o.name);
      if (el instanceof HTMLSelectElement && el.multiple) {
        const picked = [...el.selectedOptions].map((x) => x.value);
        if (picked.length) options[o.name] = picked;
      } else if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement) {
        if (el.value !== '') options[o.name] = el.value;
      }
    }
    const filterEl = form.elements.namedItem('tandem-node-filter');
    const filter = editable && filterEl instanceof HTMLInputElement && filterEl.value.trim() && filterEl.value !== job.definition.nodeFilter ? filterEl.value : undefined;
    // Secure values leave the page's DOM now, whatever the answer: they were read into `options` above.
    for (const el of form.querySelectorAll<HTMLInputElement>('input[type=password]')) el.value = '';
    setBusy(true);
    setError(null);
    try {
      const exec = await api.send<{ id: string }>('POST', `/api/v1/jobs/${seg(job.id)}/run`, { options, ...(filter ? { filter } : {}) });
      route(`/project/${seg(job.project)}/execution/show/${seg(exec.id)}`);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form ref={formRef} class="form-grid run-form" onSubmit={submit} aria-label="Run this job" autocomplete="off">
      {job.definition.options.map((o) => (
        <OptionInput key={o.name} o={o} />
      ))}
      {editable ? (
        <div class="field">
          <label for="tandem-node-filter">Node filter (this run only)</label>
          <input id="tandem-node-filter" name="tandem-node-filter" type="text" defaultValue={job.definition.nodeFilter ?? ''} />
        </div>
      ) : null}
      {error ? <ErrorBox error={error} title={error.field ? `Not run: ${error.field.replace(/^options\./, 'option ')}` : 'Not run'} /> : null}
      <div>
        <button type="submit" disabled={!!why || busy} aria-describedby={why ? 'run-why' : undefined}>
          {busy ? 'Starting…' : 'Run job now'}
        </button>
        {why ? (
          <span id="run-why" class="hint">
            {' '}
            {why}
          </span>
        ) : null}
      </div>
    </form>
  );
}

export function JobPage() {
  const { params } = useRoute();
  const project = params.project!;
  const id = params.id!;
  const r = useFetch<Job>(`/api/v1/jobs/${seg(id)}?fireTimes=${FIRE_TIMES}`);
  return (
    <Layout project={project}>
      {r.state === 'loading' ? <Loading what="the job" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} /> : null}
      {r.state === 'ok' ? (
        <>
          <p class="crumbs">
            <a href={`/project/${seg(project)}/jobs`}>Jobs</a>
            {r.data.group ? (
              <>
                {' / '}
                <a href={`/project/${seg(project)}/jobs?q=${encodeURIComponent(r.data.group)}`}>{r.data.group}</a>
              </>
            ) : null}
          </p>
          <h1>{r.data.name}</h1>
          {r.data.description ? <p>{r.data.description}</p> : null}
          <div class="job-columns">
            <section aria-labelledby="run-title">
              <h2 id="run-title">Run</h2>
              <RunForm job={r.data} />
            </section>
            <section aria-labelledby="def-title">
              <h2 id="def-title">Definition</h2>
              <dl class="props">
                <dt>Id</dt>
                <dd>
                  <code>{r.data.id}</code>
                </dd>
                <dt>Execution</dt>
                <dd>{r.data.executionEnabled ? 'enabled' : 'disabled'}</dd>
                <dt>On a step failure</dt>
                <dd>{r.data.definition.sequence.keepgoing ? 'keep going' : 'stop'}</dd>
                {r.data.definition.timeoutMs ? (
                  <>
                    <dt>Time-out</dt>
                    <dd>{formatDuration(r.data.definition.timeoutMs)}</dd>
                  </>
                ) : null}
                {r.data.definition.retry.count ? (
                  <>
                    <dt>Retry</dt>
                    <dd>
                      {r.data.definition.retry.count} times, {formatDuration(r.data.definition.retry.delayMs)} apart
                    </dd>
                  </>
                ) : null}
              </dl>
              <h3>Steps</h3>
              <Steps steps={r.data.definition.sequence.steps} />
              <h3>Options</h3>
              <OptionsTable options={r.data.definition.options} />
              <h3>Schedule</h3>
              {r.data.schedule ? (
                <>
                  <p>
                    {r.data.schedule.description} <span class="muted">(time zone {r.data.schedule.timeZone})</span>
                    {!r.data.scheduleEnabled ? ' — schedule disabled' : ''}
                  </p>
                  {r.data.schedule.nextFireTimes.length ? (
                    <ol class="fire-times" aria-label="Next fire times">
                      {r.data.schedule.nextFireTimes.map((t) => (
                        <li key={t}>
                          <time dateTime={t}>{inZone(t, r.data.schedule!.timeZone)}</time>
                        </li>
                      ))}
                    </ol>
                  ) : (
                    <p class="muted">Does not fire (schedule or execution disabled).</p>
                  )}
                </>
              ) : (
                <p class="muted">Not scheduled.</p>
              )}
              <h3>Nodes</h3>
              {r.data.definition.nodeFilter ? (
                <>
                  <p>
                    Filter <code>{r.data.definition.nodeFilter}</code>
                  </p>
                  <MatchedNodes project={project} filter={r.data.definition.nodeFilter} />
                </>
              ) : (
                <p class="muted">Runs on the server itself (no node filter).</p>
              )}
            </section>
          </div>
          <section aria-labelledby="recent-title">
            <h2 id="recent-title">Recent executions</h2>
            <RecentExecutions project={project} jobId={r.data.id} />
          </section>
        </>
      ) : null}
    </Layout>
  );
}
