/** The plain HTML login form (works without JavaScript). */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Only local paths are followed after login, never another site (open redirect); by default the web UI's home. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/';
}

/**
 * The login page's Content-Security-Policy: nothing but its own inline style
 * and a form posting to this site; no scripts, no framing.
 */
export const LOGIN_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** When a throttled user may try again, as a clock time (the message already gives the wait in seconds). */
function whenAgain(seconds: number, now = new Date()): string {
  return `You can try again at ${new Date(now.getTime() + seconds * 1000).toISOString().slice(11, 19)} UTC.`;
}

// The web UI's colours and header (server/ui/app/styles.css), kept here so the form works without the built UI.
const STYLE = `:root{--fg:#1d2330;--muted:#5b6475;--line:#d8dde6;--accent:#1f5fbf;--focus:#ffbf47;--bad:#b3261e}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);background:#f4f6f9}
header{background:#17233a;color:#fff;padding:.6rem 1.2rem;font-weight:700;font-size:1.1rem}
main{max-width:24rem;margin:3rem auto;padding:1.5rem 1.8rem;background:#fff;border:1px solid var(--line);border-radius:6px}
h1{font-size:1.4rem;margin:0 0 1rem}label{display:flex;flex-direction:column;gap:.2rem;margin-top:1rem;font-weight:500}
input{font:inherit;padding:.4rem .5rem;border:1px solid #98a2b3;border-radius:4px}
button{font:inherit;margin-top:1.4rem;padding:.45rem 1.2rem;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
.error{border:1px solid var(--bad);border-left-width:5px;background:#fdecea;padding:.5rem .8rem;margin:0 0 .5rem}`;

export function loginPage(opts: { next?: string; error?: string; username?: string; retryAfterSeconds?: number }): string {
  const error = !opts.error ? '' : opts.retryAfterSeconds ? `${opts.error.replace(/\.?$/, '.')} ${whenAgain(opts.retryAfterSeconds)}` : opts.error;
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tandem — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body>
<header>Tandem</header>
<main>
<h1>Log in</h1>
<form method="post" action="/auth/login">
${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}
<input type="hidden" name="next" value="${esc(safeNext(opts.next))}">
<label>User name <input name="username" autocomplete="username" required autofocus value="${esc(opts.username ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
</main>
</body>
</html>
`;
}
