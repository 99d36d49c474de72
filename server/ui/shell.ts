/**
 * The one HTML page of the web UI. It holds no data and no inline code: the
 * bundled script (server/ui/app/) renders every page from the public JSON API,
 * so the Content-Security-Policy can forbid inline scripts and styles.
 */
import type { UiManifest } from './assets.js';

/**
 * Scripts, styles, images and API calls from this origin only; no inline script or style
 * element, no plugins, no framing, no <base>, forms post only here. (Preact sets element
 * styles through the CSSOM, which `style-src` does not restrict; no `style` attribute is
 * ever written as text.)
 */
export const UI_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * Paths answered with the shell: the pages of server/ui/app/main.tsx. Rundeck's own page paths
 * (`/project/P/jobs`, `/project/P/job/show/ID`, `/project/P/execution/show/ID`, `/project/P/activity`)
 * are kept, so bookmarks of a Rundeck user still lead to the same page.
 */
export function isUiPath(path: string): boolean {
  return path === '/' || /^\/(project|sites|audit|keys|menu)(\/|$)/.test(path);
}

/** The URL path under which the built assets are served. */
export const ASSETS_PREFIX = '/ui/';

function attr(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function shellHtml(m: UiManifest): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tandem</title>
<link rel="stylesheet" href="${attr(ASSETS_PREFIX + m.style)}">
<script type="module" src="${attr(ASSETS_PREFIX + m.script)}"></script>
</head>
<body>
<div id="app"><noscript>Tandem's web UI needs JavaScript. The JSON API is at /api/v1 (server/README.md).</noscript></div>
</body>
</html>
`;
}
