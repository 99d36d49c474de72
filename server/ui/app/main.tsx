/**
 * The web UI's entry: loads who is signed in and which site answered, then
 * routes. Pages live in pages/, one file per page; add a page by adding its
 * route here and its path prefix to server/ui/shell.ts (isUiPath).
 */
import { render } from 'preact';
import { LocationProvider, Route, Router } from 'preact-iso';
import { Api, ApiError } from './api';
import { SessionContext, type Me, type Session, type SiteInfo } from './session';
import { ProjectsPage } from './pages/projects';
import { NotFoundPage } from './pages/not-found';
import { JobsPage } from './pages/jobs';
import { JobPage } from './pages/job';
import { SitesPage } from './pages/sites';
import { AuditPage } from './pages/audit';
import { KeysPage } from './pages/keys';
import { NodesPage } from './pages/nodes';
import { ExecutionPage } from './pages/execution';
import { ActivityPage } from './pages/activity';
import './styles.css';

function App({ session }: { session: Session }) {
  return (
    <SessionContext.Provider value={session}>
      <LocationProvider>
        <Router>
          <Route path="/" component={ProjectsPage} />
          <Route path="/project/:project/jobs" component={JobsPage} />
          <Route path="/project/:project/job/show/:id" component={JobPage} />
          <Route path="/sites" component={SitesPage} />
          <Route path="/audit" component={AuditPage} />
          <Route path="/keys" component={KeysPage} />
          <Route path="/project/:project/nodes" component={NodesPage} />
          <Route path="/project/:project/execution/show/:id" component={ExecutionPage} />
          <Route path="/project/:project/activity" component={ActivityPage} />
          {/* Rundeck's own paths for the same pages, so bookmarks from a Rundeck server keep working. */}
          <Route path="/menu/home" component={ProjectsPage} />
          <Route path="/menu/storage" component={KeysPage} />
          <Route path="/project/:project/home" component={JobsPage} />
          <Route default component={NotFoundPage} />
        </Router>
      </LocationProvider>
    </SessionContext.Provider>
  );
}

async function start(root: HTMLElement): Promise<void> {
  // The CSRF token comes with /api/v1/me; reads need none.
  const bootstrap = new Api(undefined);
  const [me, site] = await Promise.all([bootstrap.get<Me>('/api/v1/me'), bootstrap.get<SiteInfo>('/api/v1/site')]);
  const session: Session = { api: new Api(me.csrfToken), me, site, readOnly: site.role !== 'active' || !!me.readOnly };
  root.textContent = '';
  render(<App session={session} />, root);
}

const root = document.getElementById('app')!;
start(root).catch((e: unknown) => {
  if (e instanceof ApiError && e.status === 401) return; // on its way to the login form
  root.textContent = `Tandem could not start: ${e instanceof Error ? e.message : String(e)}`;
});
