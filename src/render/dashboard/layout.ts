// The frame of every dashboard page: who is signed in, a way out, and the page's own content.
import { html, type Html } from './html.js';
import type { Viewer } from './types.js';

export interface PageOptions {
  title: string;
  viewer?: Viewer;
  /** Reloads the page every this many seconds when the browser runs no script (a run still going). */
  refreshWithoutScript?: number;
  body: Html;
  /** The `<body data-run-state>`: tests and the script read the run's state from it. */
  runState?: string;
}

export function page({ title, viewer, refreshWithoutScript, body, runState }: PageOptions): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · slipway</title>
<link rel="stylesheet" href="/assets/dashboard.css">
${refreshWithoutScript ? html`<noscript><meta http-equiv="refresh" content="${refreshWithoutScript}"></noscript>` : ''}
<script src="/assets/dashboard.js" defer></script>
</head>
<body${runState ? html` data-run-state="${runState}"` : ''}>
<header class="top">
<a class="brand" href="/">slipway</a>
${viewer ? html`<span class="who">${viewer.user}
<form class="inline" method="post" action="/logout"><input type="hidden" name="csrf" value="${viewer.csrf}"><button class="link" type="submit">sign out</button></form></span>` : ''}
</header>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A page that says what went wrong, with the way back. */
export function problemPage(title: string, message: string, viewer?: Viewer): Html {
  return page({ title, ...(viewer ? { viewer } : {}), body: html`<h1>${title}</h1><p class="error">${message}</p><p><a href="/">All environments</a></p>` });
}

/** No token and no session: how to get in (the link `slipway dashboard` printed, or the password form). */
export function signInPage(options: { password: boolean; failed?: boolean; next?: string }): Html {
  const form = options.password
    ? html`<form method="post" action="/login" class="card">
<h2>Sign in</h2>
${options.failed ? html`<p class="error">That name and password do not match.</p>` : ''}
<p><label>Name <input type="text" name="user" autocomplete="username" required></label></p>
<p><label>Password <input type="password" name="password" autocomplete="current-password" required></label></p>
<input type="hidden" name="next" value="${options.next ?? '/'}">
<p><button type="submit">Sign in</button></p>
</form>`
    : '';
  return page({
    title: 'Sign in',
    body: html`<h1>This dashboard needs its access token</h1>
<p>Open the link <code>slipway dashboard</code> printed when it started (it carries <code>?token=…</code>)${options.password ? ', or sign in with the dashboard password' : ''}.</p>
${form}`,
  });
}
