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

export function loginPage(opts: { next?: string; error?: string; username?: string }): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Tandem — log in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin-top:1.2rem;padding:.5rem 1.2rem}.error{color:#b00020;margin-top:1rem}</style></head>
<body>
<h1>Tandem</h1>
<form method="post" action="/auth/login">
${opts.error ? `<p class="error" role="alert">${esc(opts.error)}</p>` : ''}
<input type="hidden" name="next" value="${esc(safeNext(opts.next))}">
<label>User name <input name="username" autocomplete="username" required autofocus value="${esc(opts.username ?? '')}"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Log in</button>
</form>
</body>
</html>
`;
}
