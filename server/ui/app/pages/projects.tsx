/** Home: the projects the user may read, and (for those allowed) a new project. */
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';

interface Project {
  name: string;
  description: string;
  createdBy: string;
  createdAt: string;
}

function NewProject({ onCreated }: { onCreated: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await api.send('POST', '/api/v1/projects', { name, description });
      setName('');
      setDescription('');
      onCreated();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, 'network', String(err)));
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-label="New project">
      <label>
        Name <input name="name" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Description <input name="description" value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      </label>
      <button type="submit">Create project</button>
      {error ? <ErrorBox error={error} title="Project not created" /> : null}
    </form>
  );
}

export function ProjectsPage() {
  const { readOnly } = useSession();
  const r = useFetch<{ projects: Project[] }>('/api/v1/projects');
  return (
    <Layout>
      <h1>Projects</h1>
      {r.state === 'loading' ? <Loading what="projects" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} /> : null}
      {r.state === 'ok' && r.data.projects.length === 0 ? <Empty>No project you may read.</Empty> : null}
      {r.state === 'ok' && r.data.projects.length > 0 ? (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">Project</th>
              <th scope="col">Description</th>
              <th scope="col">Created by</th>
            </tr>
          </thead>
          <tbody>
            {r.data.projects.map((p) => (
              <tr key={p.name}>
                <td>
                  <a href={`/project/${encodeURIComponent(p.name)}/jobs`}>{p.name}</a>
                </td>
                <td>{p.description}</td>
                <td>{p.createdBy}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {readOnly ? null : <NewProject onCreated={r.reload} />}
    </Layout>
  );
}
