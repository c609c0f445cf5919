// The status page in a real headless Chromium, served by the built `authwatch run` probing the HTTPS simulated
// Jira: after a regression the overview lists every connection with its state (problems first, filters work), the
// connection page shows the remediation, "credential unchanged", the incident and its Slack notification; the page
// refreshes itself in place; no console error; every request stays on the daemon's origin; the CSP header is on every
// answer and enforced (a <script> in a label and in Jira's message is shown as text and never runs); no secret in
// any page. Skips, saying why, only when Chromium is missing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConsoleMessage, Page } from 'playwright-core';
import { DaemonProcess, eventually, type LogLine } from '../support/cli.js';
import { chromiumMissing, launchChromium, type Browser } from '../support/browser.js';
import { secretEnv, startJiraFixture, type JiraFixture } from '../support/jira-fixture.js';
import { startSlackMock, SLACK_WEBHOOK_PATH, type SlackMock } from '../support/slack-mock.js';
import { daemonWorkspace, fetchJson, jiraConnection, type DaemonWorkspace } from '../support/daemon-config.js';
import { generateApiToken, generatePat } from '../support/jira-mock.js';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import type { ConnectionView } from '../../src/server/read-model.js';
import { CONTENT_SECURITY_POLICY } from '../../src/server/ui/routes.js';

// The page's globals, for the functions that run in the browser (the project compiles without the DOM library).
declare const window: any;
declare const document: any;
declare function getComputedStyle(element: unknown): { backgroundColor: string };

const missing = chromiumMissing();
if (missing) console.log(`# skipping the status page browser tests: ${missing}`);

const HOSTILE_LABEL = '<script>window.pwned="label";fetch("/pwned?from=label")</script>';

describe('status page in Chromium', { skip: missing ?? false }, () => {
  let fixture: JiraFixture;
  let slack: SlackMock;
  let workspace: DaemonWorkspace;
  let daemon: DaemonProcess;
  let browser: Browser;
  let url: string;
  let origin: string;
  let screenshots: string;
  const secrets: { what: string; value: string }[] = [];
  /** Every HTML or asset body any request got, scanned for the secrets at the end. */
  const seen: { what: string; text: string }[] = [];
  /** Every URL the browser asked for, on every page. */
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  const tenants = { regresses: '', neverWorked: '', hostile: '', healthy: '' };

  before(async () => {
    fixture = await startJiraFixture();
    slack = await startSlackMock();
    workspace = daemonWorkspace('authwatch-e2e-status-page-');
    screenshots = mkdtempSync(join(tmpdir(), 'authwatch-screenshots-'));

    const cloudToken = generateApiToken();
    const wrongToken = generateApiToken();
    const pat = generatePat();
    const hostilePat = generatePat();
    tenants.regresses = fixture.tenant({ deployment: 'cloud', credentials: { apiToken: cloudToken } });
    tenants.neverWorked = fixture.tenant({ deployment: 'cloud' });
    tenants.healthy = fixture.tenant({ deployment: 'datacenter', credentials: { pat } });
    tenants.hostile = fixture.tenant({ deployment: 'datacenter', credentials: { pat: hostilePat }, behaviour: 'hostile-message' });
    const regressesSecret = secretEnv(cloudToken);
    const wrongSecret = secretEnv(wrongToken);
    const patSecret = secretEnv(pat);
    const hostileSecret = secretEnv(hostilePat);
    const user = (tenant: string) => fixture.jira.tenant(tenant).user;
    const basic = (username: string, secret: string) => Buffer.from(`${username}:${secret}`).toString('base64');
    secrets.push(
      { what: 'Cloud API token', value: cloudToken },
      { what: 'Cloud basic header', value: basic(user(tenants.regresses).emailAddress, cloudToken) },
      { what: 'wrong Cloud API token', value: wrongToken },
      { what: 'wrong Cloud basic header', value: basic(user(tenants.neverWorked).emailAddress, wrongToken) },
      { what: 'DC PAT', value: pat },
      { what: 'hostile DC PAT', value: hostilePat },
      { what: 'Slack webhook URL', value: slack.webhookUrl },
      { what: 'Slack webhook token', value: SLACK_WEBHOOK_PATH.split('/').pop()! },
    );

    const caFile = fixture.pki.caFile;
    workspace.write({
      alerting: { slack: { webhookUrl: { env: 'AUTHWATCH_E2E_SLACK' } } },
      connections: [
        jiraConnection(fixture.jira, tenants.regresses, {
          name: 'regresses',
          auth: 'cloud-basic',
          secret: regressesSecret.ref,
          caFile,
          extra: { labels: { team: 'payments', note: HOSTILE_LABEL } },
        }),
        jiraConnection(fixture.jira, tenants.neverWorked, { name: 'never-worked', auth: 'cloud-basic', secret: wrongSecret.ref, caFile, extra: { labels: { team: 'identity' } } }),
        jiraConnection(fixture.jira, tenants.healthy, { name: 'healthy', auth: 'dc-pat', secret: patSecret.ref, caFile, extra: { labels: { team: 'identity' } } }),
        jiraConnection(fixture.jira, tenants.hostile, { name: 'hostile-message', auth: 'dc-pat', secret: hostileSecret.ref, caFile }),
      ],
    });
    const env = { ...regressesSecret.env, ...wrongSecret.env, ...patSecret.env, ...hostileSecret.env, AUTHWATCH_E2E_SLACK: slack.webhookUrl };
    daemon = new DaemonProcess(workspace.configPath, { env });
    url = await daemon.url();
    origin = new URL(url).origin;

    const probed = (connection: string, outcome: string) => (line: LogLine) => line.msg === 'probe' && line.connection === connection && line.outcome === outcome;
    await daemon.waitForLog(probed('regresses', 'ok'), 20_000, 'an ok probe of regresses');
    fixture.jira.setCredentials(tenants.regresses, { apiToken: generateApiToken() });
    await daemon.waitForLog((line) => line.msg === 'state changed' && line.connection === 'regresses' && line.to === 'regressed', 20_000, 'regresses → regressed');
    await daemon.waitForLog((line) => line.msg === 'notification delivered', 20_000, 'a Slack notification delivered');
    await eventually(async () => {
      const states = Object.fromEntries((await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`)).map((view) => [view.name, view.state]));
      return states.regresses === 'regressed' && states['never-worked'] === 'failing' && states.healthy === 'ok' && states['hostile-message'] !== 'unknown';
    }, 20_000);

    browser = await launchChromium();
    browser.context.on('request', (request) => requested.push(request.url()));
  });

  after(async () => {
    await browser?.close();
    await daemon?.kill();
    await slack?.close();
    await fixture?.close();
    workspace?.cleanup();
    if (screenshots) rmSync(screenshots, { recursive: true, force: true });
  });

  /** A page whose console errors and uncaught exceptions are collected (unless it is expected to log some). */
  async function open(path: string, options: { expectConsoleErrors?: boolean } = {}): Promise<Page> {
    const page = await browser.context.newPage();
    if (!options.expectConsoleErrors) {
      page.on('console', (message: ConsoleMessage) => {
        if (message.type() === 'error') consoleErrors.push(`${path}: ${message.text()}`);
      });
      page.on('pageerror', (error) => consoleErrors.push(`${path}: ${error.message}`));
    }
    const response = await page.goto(`${url}${path}`, { waitUntil: 'load' });
    assert.equal(response?.status(), 200, `GET ${path}`);
    assert.equal(response?.headers()['content-security-policy'], CONTENT_SECURITY_POLICY, `${path}: the CSP header`);
    seen.push({ what: `${path} (browser)`, text: await page.content() });
    return page;
  }

  async function pwned(page: Page): Promise<unknown> {
    return page.evaluate(() => window.pwned ?? null);
  }

  async function overviewRows(page: Page): Promise<{ name: string; state: string; text: string }[]> {
    return page.$$eval('table.overview tbody tr', (rows) =>
      rows.map((row) => ({
        name: row.querySelector('td.name > a')?.textContent ?? '',
        state: row.querySelector('.state')?.textContent ?? '',
        text: (row as unknown as { innerText: string }).innerText,
      })),
    );
  }

  it('the overview lists every connection with the state the API reports, problems first', async () => {
    const api = await fetchJson<ConnectionView[]>(`${url}/api/v1/connections`);
    const page = await open('/');
    const rows = await overviewRows(page);
    assert.deepEqual(
      rows.map((row) => row.name).sort(),
      api.map((view) => view.name).sort(),
      'every configured connection is listed once',
    );
    for (const view of api) assert.equal(rows.find((row) => row.name === view.name)?.state, view.state, `${view.name}: state`);
    assert.equal(rows.find((row) => row.name === 'regresses')?.state, 'regressed');
    assert.equal(rows.find((row) => row.name === 'never-worked')?.state, 'failing');
    assert.equal(rows.at(-1)?.name, 'healthy', 'the one that works comes last');
    assert.equal(rows[0].name, 'regresses', 'a regression comes first');
    const regressesRow = rows.find((row) => row.name === 'regresses')!;
    assert.match(regressesRow.text, /Jira Cloud rejected|basic_auth_rejected/);
    assert.ok(regressesRow.text.includes(`note=${HOSTILE_LABEL}`), `the label's <script> is shown as text: ${regressesRow.text}`);
    const strips = await page.$$eval('table.overview tbody tr .strip', (found) => found.map((strip) => strip.querySelectorAll('.b').length));
    assert.deepEqual(strips, rows.map(() => 24), 'a 24-hour strip on every row');
    assert.ok((await page.$$('tr.row-regressed .strip .b-auth')).length >= 1, 'the regression shows in the strip as an auth failure');
    assert.equal(await pwned(page), null, 'the label script did not run');
    await page.screenshot({ path: join(screenshots, 'status-overview.png') });
    assert.ok(statSync(join(screenshots, 'status-overview.png')).size > 1000, 'the overview screenshot was saved');
    await saveForDocs(page, 'status-overview.png');
    await page.close();
  });

  it('filters by state and label with plain links and a GET form (no script needed)', async () => {
    const page = await open('/?label=team%3Dpayments');
    assert.deepEqual((await overviewRows(page)).map((row) => row.name), ['regresses']);
    await page.goto(`${url}/?state=problems`);
    const problems = (await overviewRows(page)).map((row) => row.name);
    assert.ok(!problems.includes('healthy') && problems.includes('regresses') && problems.includes('never-worked'), problems.join(', '));
    // The form, submitted like a user would.
    await page.goto(`${url}/`);
    await page.selectOption('select[name="state"]', 'failing');
    await page.fill('input[name="label"]', 'team=identity');
    await Promise.all([page.waitForURL(/state=failing/), page.click('form.filters button[type="submit"]')]);
    assert.deepEqual((await overviewRows(page)).map((row) => row.name), ['never-worked']);
    // A chip is a link to its label's filter.
    await page.goto(`${url}/`);
    await Promise.all([page.waitForURL(/label=team%3Didentity/), page.click('tr.row-ok a.chip')]);
    assert.deepEqual((await overviewRows(page)).map((row) => row.name).sort(), ['healthy', 'never-worked']);
    seen.push({ what: 'filtered overview', text: await page.content() });
    const bad = await fetch(`${url}/?state=broken`);
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /state must be one of all, problems, unknown, ok, failing, regressed, unreachable/);
    await page.close();
  });

  it('works without JavaScript: the list, the filter form and the connection page', async () => {
    const plain = await launchChromium(undefined, { javaScriptEnabled: false });
    try {
      plain.context.on('request', (request) => requested.push(request.url()));
      const page = await plain.context.newPage();
      await page.goto(`${url}/`);
      assert.equal((await overviewRows(page)).length, 4);
      await page.selectOption('select[name="state"]', 'ok');
      await Promise.all([page.waitForURL(/state=ok/), page.click('form.filters button[type="submit"]')]);
      assert.deepEqual((await overviewRows(page)).map((row) => row.name), ['healthy']);
      await Promise.all([page.waitForURL(/\/connections\/healthy$/), page.click('td.name > a')]);
      assert.match(await page.innerText('section.diagnosis'), /OK/);
      seen.push({ what: '/connections/healthy (no JavaScript)', text: await page.content() });
      assert.equal(await page.innerText('#refresh-status'), 'Reload the page to refresh.');
    } finally {
      await plain.close();
    }
  });

  it('the connection page shows the remediation, "credential unchanged", the incident and its notification, and the probes', async () => {
    const page = await open('/connections/regresses');
    const steps = await page.$$eval('ol.remediation li', (items) => items.map((item) => item.textContent));
    assert.deepEqual(steps, describeOutcome('basic_auth_rejected', 'cloud').remediation, 'the outcome guide\'s remediation steps, in order');
    const changes = await page.$$eval('ul.change-lines li', (items) => items.map((item) => item.textContent ?? ''));
    assert.ok(changes.includes('credential unchanged (same secret as at the last success)'), changes.join(' | '));
    assert.ok(changes.some((line) => line.startsWith('TLS certificate unchanged')), changes.join(' | '));
    const compare = await page.innerText('table.compare');
    assert.match(compare, /HTTP status\s+200\s+401\s+changed/);
    const incident = await page.innerText('article.incident');
    assert.match(incident, /^regressed since/);
    assert.match(incident, /slack\s+open\s+.*delivered/s, incident);
    const history = await page.$$eval('table.history tbody tr', (rows) => rows.map((row) => Array.from((row as unknown as { cells: ArrayLike<{ textContent: string | null }> }).cells, (cell) => cell.textContent ?? '')));
    assert.ok(history.length >= 2);
    assert.equal(history[0][1], 'basic_auth_rejected', 'newest first');
    assert.ok(history.some((cells) => cells[1] === 'ok'), 'the earlier success is listed');
    assert.match(history[0][9], /^\d+(\.\d)?$/, `total time in ms: ${history[0].join(' | ')}`);
    const certificate = await page.innerText('section:has(h2:text("Certificate"))');
    assert.match(certificate, /Verified\s+yes/);
    assert.match(certificate, /Expires\s+\d{4}-\d\d-\d\d/);
    assert.equal(await pwned(page), null);
    await page.screenshot({ path: join(screenshots, 'status-connection.png'), fullPage: false });
    assert.ok(statSync(join(screenshots, 'status-connection.png')).size > 1000, 'the connection screenshot was saved');
    await saveForDocs(page, 'status-connection.png');
    await page.close();
  });

  it("Jira's message with a <script> is shown as text and does not run", async () => {
    const page = await open('/connections/hostile-message');
    const messages = await page.$$eval('pre.message', (found) => found.map((element) => element.textContent ?? ''));
    assert.ok(messages.some((text) => text.includes('<script>window.pwned = "server message"')), `shown as text: ${messages.join(' | ')}`);
    assert.equal(await page.$$eval('main script, main img', (found) => found.length), 0, 'no element came from the message');
    assert.equal(await pwned(page), null, 'the message script did not run');
    await page.close();
  });

  it('refreshes its content in place, without reloading the page', async () => {
    const page = await open('/?refresh=1');
    await page.evaluate(() => (window.marker = 42));
    const before = await page.getAttribute('main .rendered time', 'datetime');
    await page.waitForFunction(() => Number(document.documentElement.getAttribute('data-refreshes')) >= 2, null, { timeout: 20_000 });
    assert.equal(await page.evaluate(() => window.marker), 42, 'the same document: no full reload');
    assert.notEqual(await page.getAttribute('main .rendered time', 'datetime'), before, 'the content was rendered again');
    assert.equal((await overviewRows(page)).length, 4);
    assert.match(await page.innerText('#refresh-status'), /^updated /);
    assert.ok(requested.some((address) => address.includes('fragment=1')), 'the content came as a fragment');
    await page.close();
  });

  it('follows the browser to a dark theme and fits a phone screen', async () => {
    const page = await open('/');
    const light = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.notEqual(dark, light);
    await page.setViewportSize({ width: 375, height: 740 });
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'no sideways scrolling at 375 px');
    await page.goto(`${url}/connections/regresses`);
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), 'the connection page neither');
    await page.close();
  });

  it('the CSP is enforced: an inline script added to the page is refused', async () => {
    const page = await open('/', { expectConsoleErrors: true });
    const violation = await page.evaluate(
      () =>
        new Promise<string>((resolve) => {
          document.addEventListener('securitypolicyviolation', (event: { violatedDirective: string }) => resolve(event.violatedDirective));
          const script = document.createElement('script');
          script.textContent = 'window.pwned = "inline";';
          document.body.append(script);
        }),
    );
    assert.match(violation, /^script-src/);
    assert.equal(await pwned(page), null);
    await page.close();
  });

  it('every answer has the security headers; no page or asset holds a secret', async () => {
    const paths = ['/', '/?fragment=1', '/?state=problems', '/connections/regresses', '/connections/regresses?fragment=1', '/connections/never-worked', '/connections/healthy', '/connections/hostile-message', '/connections/nope', '/static/status.css', '/static/status.js', '/static/favicon.svg'];
    for (const path of paths) {
      const response = await fetch(`${url}${path}`);
      const text = await response.text();
      seen.push({ what: path, text });
      assert.equal(response.status, path === '/connections/nope' ? 404 : 200, path);
      assert.equal(response.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, `${path}: CSP`);
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', `${path}: nosniff`);
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer', `${path}: referrer policy`);
    }
    const post = await fetch(`${url}/`, { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.ok(seen.length > paths.length);
    for (const { what, text } of seen) {
      for (const secret of secrets) assert.ok(!text.includes(secret.value), `${secret.what} appears in ${what}`);
    }
  });

  it('no console error, and every request the browser made stayed on the daemon', () => {
    assert.deepEqual(consoleErrors, []);
    assert.ok(requested.length > 10);
    const elsewhere = requested.filter((address) => !address.startsWith(`${origin}/`) && !address.startsWith('data:'));
    assert.deepEqual(elsewhere, [], 'requests off the daemon');
    assert.ok(!requested.some((address) => address.includes('pwned')), 'no injected script or image made a request');
    for (const asset of ['/static/status.css', '/static/status.js', '/static/favicon.svg']) assert.ok(requested.includes(`${origin}${asset}`), `${asset} was loaded`);
  });

  /** With AUTHWATCH_DOCS_SCREENSHOTS=DIR, also writes the screenshot there (how docs/images/ was made). */
  async function saveForDocs(page: Page, file: string): Promise<void> {
    const dir = process.env.AUTHWATCH_DOCS_SCREENSHOTS;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    await page.screenshot({ path: join(dir, file) });
  }
});
