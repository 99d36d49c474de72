/**
 * The frame of every page: which site and member answered, who is signed in
 * (with roles) and logout; on a site that is not active, a banner saying that
 * nothing can be changed here, with a link to the same page on the active site.
 */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { ApiError } from './api';
import { ErrorBox } from './components/status';
import { useSession, type Session } from './session';

const ROLE_TEXT: Record<string, string> = {
  active: 'active',
  draining: 'draining (switchover under way)',
  passive: 'passive (read-only copy)',
  fenced: 'fenced (out of service)',
};

/** Where the same page lives on the active site, when this site knows it. */
function activeLink(site: Session['site'], path: string): string | null {
  if (!site.activeUrl) return null;
  try {
    return new URL(path, site.activeUrl).toString();
  } catch {
    return null;
  }
}

function ReadOnlyBanner() {
  const { site, me, readOnly } = useSession();
  const { url } = useLocation();
  if (!readOnly) return null;
  const link = activeLink(site, url);
  const why =
    site.role !== 'active'
      ? `This site${site.name ? ` (${site.name})` : ''} is ${ROLE_TEXT[site.role] ?? site.role}: you can look, but every change is refused here.`
      : me.readOnly
        ? 'You signed in while this site was not active: this session can only look. Log out and in again to make changes.'
        : 'Read-only.';
  return (
    <div class="banner" role="status" data-testid="readonly-banner">
      <strong>Read-only.</strong> {why}{' '}
      {link ? (
        <>
          Make changes on the active site{site.activeSite ? ` (${site.activeSite})` : ''}: <a href={link}>{link}</a>
        </>
      ) : site.activeSite ? (
        <>Make changes on the active site, {site.activeSite}.</>
      ) : null}
    </div>
  );
}

function Logout() {
  const { api } = useSession();
  const [error, setError] = useState<ApiError | null>(null);
  const logout = async () => {
    try {
      await api.send('POST', '/auth/logout', {});
      location.assign('/login');
    } catch (e) {
      setError(e instanceof ApiError ? e : new ApiError(0, 'network', String(e)));
    }
  };
  return (
    <>
      <button type="button" class="link-button" onClick={logout}>
        Log out
      </button>
      {error ? <ErrorBox error={error} title="Logout failed" /> : null}
    </>
  );
}

export function Layout({ project, children }: { project?: string; children: ComponentChildren }) {
  const { me, site } = useSession();
  const { path } = useLocation();
  const here = (p: string) => (path === p || path.startsWith(p + '/') ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="/">
          Tandem
        </a>
        <nav aria-label="Main">
          <a href="/" aria-current={path === '/' ? 'page' : undefined}>
            Projects
          </a>
          <a href="/sites" aria-current={here('/sites')}>
            Sites
          </a>
          <a href="/audit" aria-current={here('/audit')}>
            Audit
          </a>
          <a href="/keys" aria-current={here('/keys')}>
            Key Storage
          </a>
        </nav>
        <div class="who" data-testid="who">
          <span title="the site and member that answered this page">
            Site <strong>{site.name ?? 'single'}</strong> ({site.role}) · member <strong>{site.member}</strong>
          </span>
          <span title={me.groups.length ? `groups: ${me.groups.join(', ')}` : undefined}>
            <strong>{me.user}</strong> {me.roles.length ? `(${me.roles.join(', ')})` : '(no roles)'}
          </span>
          {me.via === 'session' ? <Logout /> : null}
        </div>
      </header>
      <ReadOnlyBanner />
      {project ? (
        <nav class="project-nav" aria-label={`Project ${project}`}>
          <span class="muted">Project</span> <strong>{project}</strong>
          <a href={`/project/${encodeURIComponent(project)}/jobs`} aria-current={here(`/project/${encodeURIComponent(project)}/jobs`)}>
            Jobs
          </a>
          <a href={`/project/${encodeURIComponent(project)}/activity`} aria-current={here(`/project/${encodeURIComponent(project)}/activity`)}>
            Activity
          </a>
          <a href={`/project/${encodeURIComponent(project)}/nodes`} aria-current={here(`/project/${encodeURIComponent(project)}/nodes`)}>
            Nodes
          </a>
        </nav>
      ) : null}
      <main id="main" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
