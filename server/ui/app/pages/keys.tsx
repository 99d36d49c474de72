/**
 * Key Storage (Rundeck's /storage/keys API, /api/v1/storage/keys/PATH):
 * browse directories, upload a private key, public key or password (POST to
 * create, PUT to replace), delete. Content is never shown or fetched: only
 * the metadata the API lists. A password is typed into a password input and
 * sent once; keys are read from a file the user picks.
 */
import { useState } from 'preact/hooks';
import { ApiError, seg } from '../api';
import { Layout } from '../layout';
import { Empty, ErrorBox, Loading } from '../components/status';
import { Time } from '../components/time';
import { useSession } from '../session';
import { useFetch } from '../use-fetch';

interface Resource {
  path: string;
  name: string;
  type: 'file' | 'directory';
  meta?: Record<string, string>;
}

interface Directory {
  path: string;
  type: 'directory';
  resources: Resource[];
}

const KINDS = {
  password: { label: 'Password', contentType: 'application/x-rundeck-data-password' },
  private: { label: 'Private key', contentType: 'application/octet-stream' },
  public: { label: 'Public key', contentType: 'application/pgp-keys' },
} as const;
type Kind = keyof typeof KINDS;

const apiPath = (p: string) => `/api/v1/storage/${p.split('/').map(seg).join('/')}`;
const toError = (e: unknown) => (e instanceof ApiError ? e : new ApiError(0, 'network', String(e)));

function kindOf(meta: Record<string, string> | undefined): string {
  if (!meta) return '';
  if (meta['Rundeck-data-type'] === 'password') return 'password';
  return `${meta['Rundeck-key-type'] ?? '?'} key`;
}

function Upload({ dir, onDone }: { dir: string; onDone: () => void }) {
  const { api } = useSession();
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('password');
  const [password, setPassword] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [replace, setReplace] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setDone(null);
    const content = kind === 'password' ? password : file;
    if (!content) {
      setError(new ApiError(0, 'validation_failed', kind === 'password' ? 'type the password' : 'choose the key file', 'content'));
      return;
    }
    const path = `${dir}/${name.trim()}`;
    try {
      await api.send(replace ? 'PUT' : 'POST', apiPath(path), { raw: content, type: KINDS[kind].contentType });
      setPassword('');
      setName('');
      setDone(path);
      onDone();
    } catch (err) {
      setError(toError(err));
    }
  };
  return (
    <form class="form-grid" onSubmit={submit} aria-label="Upload a key or password">
      <h2>Add a key or password in {dir}</h2>
      <label>
        Name <input name="name" required pattern="[^/]+" value={name} onInput={(e) => setName(e.currentTarget.value)} />
      </label>
      <label>
        Type
        <select name="kind" aria-label="Type" value={kind} onChange={(e) => setKind(e.currentTarget.value as Kind)}>
          {Object.entries(KINDS).map(([k, v]) => (
            <option value={k} key={k}>
              {v.label}
            </option>
          ))}
        </select>
      </label>
      {kind === 'password' ? (
        <label>
          Password <input type="password" name="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
        </label>
      ) : (
        <label>
          Key file <input type="file" name="file" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
      )}
      <label class="check">
        <span>
          <input type="checkbox" checked={replace} onChange={(e) => setReplace(e.currentTarget.checked)} /> Replace if it exists
        </span>
      </label>
      <div>
        <button type="submit">{replace ? 'Replace' : 'Save'}</button>
      </div>
      {error ? <ErrorBox error={error} title="Not saved" /> : null}
      {done ? (
        <p role="status">
          Saved <code>{done}</code>.
        </p>
      ) : null}
    </form>
  );
}

function Delete({ path, onDone }: { path: string; onDone: () => void }) {
  const { api } = useSession();
  const [confirm, setConfirm] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const remove = async () => {
    try {
      await api.send('DELETE', apiPath(path));
      onDone();
    } catch (e) {
      setError(toError(e));
    }
  };
  return (
    <>
      {confirm ? (
        <>
          <button type="button" class="danger" onClick={remove}>
            Delete {path.split('/').pop()} for good
          </button>{' '}
          <button type="button" class="secondary" onClick={() => setConfirm(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" class="secondary" onClick={() => setConfirm(true)}>
          Delete…
        </button>
      )}
      {error ? <ErrorBox error={error} title="Not deleted" /> : null}
    </>
  );
}

export function KeysPage() {
  const { readOnly } = useSession();
  const [dir, setDir] = useState(() => new URLSearchParams(location.search).get('path') || 'keys');
  const r = useFetch<Directory>(apiPath(dir));
  const go = (p: string) => {
    setDir(p);
    history.replaceState(null, '', `/keys?path=${encodeURIComponent(p)}`);
  };
  const parts = dir.split('/');
  return (
    <Layout>
      <h1>Key Storage</h1>
      <nav class="path-crumbs" aria-label="Key path">
        {parts.map((p, i) => {
          const to = parts.slice(0, i + 1).join('/');
          return i === parts.length - 1 ? (
            <strong key={to} aria-current="location">
              {p}
            </strong>
          ) : (
            <span key={to}>
              <button type="button" class="link-like" onClick={() => go(to)}>
                {p}
              </button>{' '}
              /
            </span>
          );
        })}
      </nav>
      {r.state === 'loading' ? <Loading what="keys" /> : null}
      {r.state === 'error' ? <ErrorBox error={r.error} title="Key storage not shown" /> : null}
      {r.state === 'ok' && r.data.resources.length === 0 ? <Empty>Nothing stored under {dir}.</Empty> : null}
      {r.state === 'ok' && r.data.resources.length > 0 ? (
        <table class="list" data-testid="keys-table">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Type</th>
              <th scope="col">Size</th>
              <th scope="col">Modified</th>
              <th scope="col">By</th>
              {readOnly ? null : <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {r.data.resources.map((x) => (
              <tr key={x.path} data-path={x.path}>
                <th scope="row">
                  {x.type === 'directory' ? (
                    <button type="button" class="link-like" onClick={() => go(x.path)}>
                      {x.name}/
                    </button>
                  ) : (
                    x.name
                  )}
                </th>
                <td>{x.type === 'directory' ? 'directory' : kindOf(x.meta)}</td>
                <td>{x.meta ? `${x.meta['Rundeck-content-size']} bytes` : ''}</td>
                <td>{x.meta ? <Time iso={x.meta['Rundeck-content-modify-time']} /> : null}</td>
                <td>{x.meta?.['Rundeck-auth-modified-username'] ?? ''}</td>
                {readOnly ? null : <td>{x.type === 'file' ? <Delete path={x.path} onDone={r.reload} /> : null}</td>}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {readOnly ? null : <Upload dir={dir} onDone={r.reload} />}
    </Layout>
  );
}
