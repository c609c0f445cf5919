// The page around each status page's content. Pure.
import { VERSION } from '../../version.js';
import { formatInstant } from './format.js';
import { html, type Html } from './html.js';

export const DEFAULT_REFRESH_SECONDS = 15;

export interface PageFrame {
  title: string;
  now: Date;
  refreshSeconds: number;
}

/** The element auto-refresh replaces; a `?fragment=1` request answers with just this. */
export function contentElement(content: Html, frame: PageFrame): Html {
  return html`<main id="content" data-refresh="${frame.refreshSeconds}">
${content}
<p class="muted rendered">Rendered <time datetime="${frame.now.toISOString()}">${formatInstant(frame.now.toISOString())}</time>.</p>
</main>`;
}

export function page(content: Html, frame: PageFrame): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="no-referrer">
<title>${frame.title} · authwatch</title>
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/static/status.css">
<script src="/static/status.js" defer></script>
</head>
<body>
<header class="top"><a class="brand" href="/">authwatch</a><span class="muted">status · read-only</span></header>
${contentElement(content, frame)}
<footer><span id="refresh-status">Reload the page to refresh.</span> · <a href="/api/v1/connections">JSON API</a> · <a href="/metrics">metrics</a> · authwatch ${VERSION}</footer>
</body>
</html>
`;
}

export function fragment(content: Html, frame: PageFrame): Html {
  return html`<!doctype html><title>${frame.title}</title>${contentElement(content, frame)}`;
}
