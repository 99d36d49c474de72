/**
 * Nodes of a project (GET /api/v1/projects/P/nodes?filter=): a filter box in
 * the node filter language (`tags: web`, `name: db.*`, `!hostname: x`, …),
 * the matching nodes with their tags and attributes. A filter the API
 * refuses is shown with its message (which names the token and column).
 */
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { seg } from '../api';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { Time } from '../components/time';
import { useFetch } from '../use-fetch';

interface NodeView {
  name: string;
  tags: string[];
  attributes: Record<string, string>;
}

interface NodesAnswer {
  project: string;
  filter: string;
  total: number;
  nodes: NodeView[];
  refreshedAt: string;
}

const SHOWN = ['hostname', 'osFamily', 'osName', 'username', 'description'];

export function NodesPage({ project }: { project: string }) {
  const initial = new URLSearchParams(location.search).get('filter') ?? '';
  const [text, setText] = useState(initial);
  const [filter, setFilter] = useState(initial);
  const r = useFetch<NodesAnswer>(`/api/v1/projects/${seg(project)}/nodes${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`);
  const submit = (e: Event) => {
    e.preventDefault();
    setFilter(text.trim());
    const u = new URL(location.href);
    if (text.trim()) u.searchParams.set('filter', text.trim());
    else u.searchParams.delete('filter');
    history.replaceState(null, '', u);
  };
  return (
    <Layout project={project}>
      <h1>Nodes</h1>
      <form class="inline-form" onSubmit={submit} role="search" aria-label="Filter nodes">
        <label>
          Node filter
          <input name="filter" class="mono" size={50} value={text} placeholder="tags: web !name: web3" onInput={(e) => setText(e.currentTarget.value)} />
          <span class="hint">Rundeck's node filter: name, tags, hostname or any attribute; regular expressions; ! excludes.</span>
        </label>
        <button type="submit">Filter</button>
      </form>
      {r.state === 'loading' ? <Loading what="nodes" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} title="Nodes not shown" /> : null}
      {r.state === 'ok' ? (
        <p class="muted" data-testid="nodes-count">
          {r.data.total} node{r.data.total === 1 ? '' : 's'} match <code>{r.data.filter}</code>; sources read <Time iso={r.data.refreshedAt} />.
        </p>
      ) : null}
      {r.state === 'ok' && r.data.nodes.length === 0 ? <Empty>No node matches.</Empty> : null}
      {r.state === 'ok' && r.data.nodes.length > 0 ? (
        <table class="list" data-testid="nodes-table">
          <thead>
            <tr>
              <th scope="col">Node</th>
              <th scope="col">Tags</th>
              {SHOWN.map((a) => (
                <th scope="col" key={a}>
                  {a}
                </th>
              ))}
              <th scope="col">Other attributes</th>
            </tr>
          </thead>
          <tbody>
            {r.data.nodes.map((n) => (
              <tr key={n.name}>
                <th scope="row">{n.name}</th>
                <td>
                  <span class="tags">
                    {n.tags.map((t) => (
                      <span class="tag" key={t}>
                        {t}
                      </span>
                    ))}
                  </span>
                </td>
                {SHOWN.map((a) => (
                  <td key={a}>{n.attributes[a] ?? <span class="muted">—</span>}</td>
                ))}
                <td>
                  <dl class="props">
                    {Object.entries(n.attributes)
                      .filter(([k]) => k !== 'nodename' && k !== 'tags' && !SHOWN.includes(k))
                      .map(([k, v]) => (
                        <Fragment key={k}>
                          <dt>{k}</dt>
                          <dd>{v}</dd>
                        </Fragment>
                      ))}
                  </dl>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Layout>
  );
}
