/**
 * A project's jobs: a tree by group, search by name or group, import and export.
 *
 * Fast with thousands of jobs: the tree is drawn from the group paths and
 * their counts (`?groups=1`), and a group's jobs are loaded, a page at a time,
 * only when it is opened (`?group=`). Jobs outside any group are listed under
 * the tree, paged. A search (`?q=`, matched by the server) narrows both and
 * opens the groups when there are few of them.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { ApiError, seg } from '../api';
import { Layout } from '../layout';
import { Pager } from '../components/pager';
import { Empty, ErrorBox, Loading } from '../components/status';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';

const PAGE = 50;
/** With a search, groups are opened at once when there are at most this many. */
const OPEN_ON_SEARCH = 12;

interface JobSummary {
  id: string;
  name: string;
  group: string | null;
  description: string;
  scheduled: boolean;
  scheduleEnabled: boolean;
  executionEnabled: boolean;
}

interface JobPage {
  total: number;
  limit: number;
  offset: number;
  jobs: JobSummary[];
}

interface GroupCount {
  group: string;
  count: number;
}

interface GroupNode {
  name: string;
  path: string;
  /** Jobs directly in this group. */
  own: number;
  /** Jobs in this group and below. */
  total: number;
  children: GroupNode[];
}

/** `a/b`, `a/c` → a tree a{b, c}, with counts added up the way. */
function groupTree(groups: GroupCount[]): GroupNode[] {
  const root: GroupNode = { name: '', path: '', own: 0, total: 0, children: [] };
  for (const g of groups) {
    if (g.group === '') continue;
    let node = root;
    node.total += g.count;
    let path = '';
    for (const part of g.group.split('/')) {
      path = path ? `${path}/${part}` : part;
      let child = node.children.find((c) => c.path === path);
      if (!child) {
        child = { name: part, path, own: 0, total: 0, children: [] };
        node.children.push(child);
      }
      child.total += g.count;
      node = child;
    }
    node.own += g.count;
  }
  return root.children;
}

function jobHref(project: string, id: string): string {
  return `/project/${seg(project)}/job/show/${seg(id)}`;
}

function jobsPath(project: string, q: string, extra: string): string {
  return `/api/v1/projects/${seg(project)}/jobs?${q ? `q=${encodeURIComponent(q)}&` : ''}${extra}`;
}

/** The jobs directly in one group ('' = outside any group), a page at a time. */
function GroupJobs({ project, group, q, label }: { project: string; group: string; q: string; label: string }) {
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [q]);
  const r = useFetch<JobPage>(jobsPath(project, q, `group=${encodeURIComponent(group)}&limit=${PAGE}&offset=${offset}`));
  if (r.state === 'loading') return <Loading what="jobs" />;
  if (r.state === 'error') return <ErrorBox error={r.error} />;
  return (
    <>
      <ul class="job-list" aria-label={label}>
        {r.data.jobs.map((j) => (
          <li key={j.id}>
            <a href={jobHref(project, j.id)}>{j.name}</a>
            {j.description ? <span class="muted"> — {j.description}</span> : null}
            {j.scheduled ? <span class="tag">{j.scheduleEnabled ? 'scheduled' : 'schedule off'}</span> : null}
            {!j.executionEnabled ? <span class="tag">execution disabled</span> : null}
          </li>
        ))}
      </ul>
      {r.data.total > r.data.limit ? <Pager page={r.data} onOffset={setOffset} label={label} /> : null}
    </>
  );
}

function GroupItem({ node, project, q, open, toggle }: { node: GroupNode; project: string; q: string; open: Set<string>; toggle: (p: string) => void }) {
  const expanded = open.has(node.path);
  const id = `group-${node.path}`;
  return (
    <li class="group">
      <button type="button" class="group-toggle" aria-expanded={expanded} aria-controls={id} onClick={() => toggle(node.path)}>
        <span aria-hidden="true">{expanded ? '▾' : '▸'}</span> {node.name} <span class="muted">({node.total})</span>
      </button>
      {expanded ? (
        <div id={id} class="group-body">
          {node.children.length ? (
            <ul class="group-tree">
              {node.children.map((c) => (
                <GroupItem key={c.path} node={c} project={project} q={q} open={open} toggle={toggle} />
              ))}
            </ul>
          ) : null}
          {node.own ? <GroupJobs project={project} group={node.path} q={q} label={`Jobs in ${node.path}`} /> : null}
        </div>
      ) : null}
    </li>
  );
}

interface ImportAnswer {
  created: number;
  updated: number;
  warnings: string[];
  jobs: { id: string; name: string; group?: string | null; created: boolean }[];
}

function ImportForm({ project, onImported }: { project: string; onImported: () => void }) {
  const { api } = useSession();
  const [result, setResult] = useState<ImportAnswer | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const file = fileRef.current?.files?.[0];
    if (!file) return;
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const type = /\.json$/i.test(file.name) || file.type === 'application/json' ? 'application/json' : 'application/yaml';
      const answer = await api.send<ImportAnswer>('POST', `/api/v1/projects/${seg(project)}/jobs`, { raw: await file.text(), type });
      setResult(answer);
      onImported();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="import-title">
      <h2 id="import-title">Import</h2>
      <form class="inline-form" onSubmit={submit}>
        <label>
          Job file (Rundeck YAML or JSON)
          <input ref={fileRef} type="file" name="file" accept=".yaml,.yml,.json,application/json,application/yaml,text/yaml" required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Importing…' : 'Import'}
        </button>
      </form>
      {error ? <ErrorBox error={error} title="Import refused" /> : null}
      {result ? (
        <div class="import-result" role="status" data-testid="import-result">
          <p>
            Created <strong>{result.created}</strong>, updated <strong>{result.updated}</strong>:{' '}
            {result.jobs.map((j, i) => (
              <span key={j.id}>
                {i ? ', ' : ''}
                <a href={jobHref(project, j.id)}>{j.group ? `${j.group}/${j.name}` : j.name}</a>
              </span>
            ))}
          </p>
          {result.warnings.length ? (
            <>
              <p>
                <strong>Warnings ({result.warnings.length})</strong>
              </p>
              <ul class="warnings" aria-label="Import warnings">
                {result.warnings.map((w, i) => (
                  <li key={i}>{w}</li>
                ))}
              </ul>
            </>
          ) : (
            <p class="muted">No warnings.</p>
          )}
        </div>
      ) : null}
    </section>
  );
}

export function JobsPage() {
  const { params } = useRoute();
  const { query, path, route } = useLocation();
  const project = params.project!;
  const { readOnly } = useSession();
  const q = query.q ?? '';
  const [text, setText] = useState(q);
  useEffect(() => setText(q), [q]);
  const groups = useFetch<{ total: number; groups: GroupCount[] }>(jobsPath(project, q, 'groups=1'));
  const tree = useMemo(() => (groups.state === 'ok' ? groupTree(groups.data.groups) : []), [groups.data]);
  const ungrouped = groups.state === 'ok' ? (groups.data.groups.find((g) => g.group === '')?.count ?? 0) : 0;
  const [open, setOpen] = useState<Set<string>>(new Set());
  // A search opens the groups holding matches when they are few; a new search starts from that again.
  useEffect(() => {
    if (groups.state !== 'ok') return;
    const all = groups.data.groups.filter((g) => g.group !== '');
    if (q && all.length <= OPEN_ON_SEARCH) {
      const paths = new Set<string>();
      for (const g of all) {
        const parts = g.group.split('/');
        for (let i = 1; i <= parts.length; i++) paths.add(parts.slice(0, i).join('/'));
      }
      setOpen(paths);
    } else if (q) setOpen(new Set());
  }, [groups.data, q]);
  const toggle = (p: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(p)) n.delete(p);
      else n.add(p);
      return n;
    });
  const search = (e: Event) => {
    e.preventDefault();
    route(text ? `${path}?q=${encodeURIComponent(text)}` : path);
  };
  const exportBase = `/api/v1/projects/${seg(project)}/jobs?format=`;
  return (
    <Layout project={project}>
      <h1>Jobs</h1>
      <form class="inline-form" role="search" onSubmit={search}>
        <label>
          Search jobs by name or group
          <input type="search" name="q" value={text} onInput={(e) => setText(e.currentTarget.value)} maxLength={200} />
        </label>
        <button type="submit">Search</button>
        {q ? (
          <a href={path} class="clear-search">
            Show all jobs
          </a>
        ) : null}
      </form>
      {groups.state === 'loading' ? <Loading what="jobs" /> : null}
      {groups.state === 'error' ? <ErrorBox error={groups.error} /> : null}
      {groups.state === 'ok' ? (
        <section aria-label="Job tree" data-testid="job-tree">
          <p class="muted" aria-live="polite">
            {groups.data.total} {groups.data.total === 1 ? 'job' : 'jobs'}
            {q ? ` matching “${q}”` : ''} in {tree.length} top-level {tree.length === 1 ? 'group' : 'groups'}
            {ungrouped ? ` and ${ungrouped} outside any group` : ''}
          </p>
          {groups.data.total === 0 ? <Empty>{q ? 'No job matches this search.' : 'No job in this project yet.'}</Empty> : null}
          {tree.length ? (
            <ul class="group-tree" aria-label="Groups">
              {tree.map((n) => (
                <GroupItem key={n.path} node={n} project={project} q={q} open={open} toggle={toggle} />
              ))}
            </ul>
          ) : null}
          {ungrouped ? <GroupJobs project={project} group="" q={q} label="Jobs outside any group" /> : null}
        </section>
      ) : null}
      <section aria-labelledby="export-title">
        <h2 id="export-title">Export</h2>
        <p>
          Every job of {project} you may read, in Rundeck's format:{' '}
          <a href={`${exportBase}yaml`} download={`${project}-jobs.yaml`}>
            download YAML
          </a>{' '}
          ·{' '}
          <a href={`${exportBase}json`} download={`${project}-jobs.json`}>
            download JSON
          </a>
        </p>
      </section>
      {readOnly ? null : <ImportForm project={project} onImported={groups.reload} />}
    </Layout>
  );
}
