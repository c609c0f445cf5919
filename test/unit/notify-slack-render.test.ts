import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderSlackMessage, validateSlackPayload, type SlackPayload } from '../../src/notify/slack/render.js';
import { clampMrkdwn, SLACK_LIMITS } from '../../src/notify/slack/blocks.js';
import type { Notification } from '../../src/notify/types.js';
import { regression, resolved, CONNECTION } from '../support/slack-notifications.js';

const DASHBOARD = 'https://grafana.example.com/d/authwatch?orgId=1&var-connection=salesforce-to-jira';

function render(n: Notification, dashboardUrl: string | null = DASHBOARD): SlackPayload {
  const payload = renderSlackMessage(n, { dashboardUrl });
  assert.deepEqual(validateSlackPayload(payload), [], 'every payload must be within Slack limits');
  return payload;
}

function allText(payload: SlackPayload): string {
  return JSON.stringify(payload);
}

test('a regression message: connection, outcome, remediation, HTTP answer, server message, what changed, times, dashboard', () => {
  assert.deepEqual(render(regression()), {
    text: 'salesforce-to-jira: auth regressed — basic_auth_rejected (Jira Cloud refused the email/API token pair)',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: ':rotating_light: salesforce-to-jira: auth regressed', emoji: true } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*salesforce-to-jira* · <https://acme.atlassian.net|https://acme.atlassian.net> · cloud, basic auth\n' +
            'Auth that used to work now fails.\n' +
            '*Outcome:* `basic_auth_rejected` (auth) — Jira Cloud refused the email/API token pair\n' +
            'Cloud answers this for a password, an expired or revoked token, and an email and token that do not belong together.\n' +
            '*Seen:* `401 text/plain "Basic authentication with passwords is deprecated"`',
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*What to do*\n' +
            '1. Check that the username is the account email.\n' +
            '2. Create a new API token at id.atlassian.com &amp; update the secret.\n' +
            '3. Encode email:token with no trailing newline (echo -n).',
        },
      },
      { type: 'section', text: { type: 'mrkdwn', text: '*What the server answered*\nHTTP 401 · `text/plain`\n• `atl-traceid: 0f1e2d3c`\n• `x-arequestid: a1b2c3`' } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*Server message*\n```\nBasic authentication with passwords is deprecated.  For more information, see: ' +
            'https://developer.atlassian.com/cloud/jira/platform/deprecation-notice-basic-auth/\n```',
        },
      },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*Since the last success* (<!date^1741082700^{date_short_pretty} {time}|2025-03-04 10:05 UTC>)\n' +
            '• credential unchanged (same secret as at the last success)\n' +
            '• TLS protocol changed: TLSv1.3 → TLSv1.2 (downgrade)\n' +
            '• TLS cipher unchanged (ECDHE-RSA-AES128-GCM-SHA256)\n' +
            '• TLS certificate unchanged (AB:CD:EF:01:23:45:67:89…)',
        },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*State*\nok → regressed' },
          { type: 'mrkdwn', text: '*HTTP status*\n401' },
          { type: 'mrkdwn', text: '*Opened*\n<!date^1741083300^{date_short_pretty} {time}|2025-03-04 10:15 UTC>' },
          { type: 'mrkdwn', text: '*Last success*\n<!date^1741082700^{date_short_pretty} {time}|2025-03-04 10:05 UTC>' },
          { type: 'mrkdwn', text: '*First failure*\n<!date^1741083000^{date_short_pretty} {time}|2025-03-04 10:10 UTC>' },
        ],
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: 'authwatch · 2025-03-04 10:15 UTC · <https://grafana.example.com/d/authwatch?orgId=1&amp;var-connection=salesforce-to-jira|Open the dashboard>',
          },
        ],
      },
    ],
  });
});

test('a resolved message says how long the incident lasted', () => {
  assert.deepEqual(render(resolved(), null), {
    text: 'salesforce-to-jira: auth works again',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: ':white_check_mark: salesforce-to-jira: auth works again', emoji: true } },
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text:
            '*salesforce-to-jira* · <https://acme.atlassian.net|https://acme.atlassian.net> · cloud, basic auth\n' +
            '*Resolved after 2h 5m.* Auth had regressed since <!date^1741083300^{date_short_pretty} {time}|2025-03-04 10:15 UTC>. The latest probe: `ok`.',
        },
      },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*State*\nregressed → ok' },
          { type: 'mrkdwn', text: '*HTTP status*\n200' },
          { type: 'mrkdwn', text: '*Opened*\n<!date^1741083300^{date_short_pretty} {time}|2025-03-04 10:15 UTC>' },
          { type: 'mrkdwn', text: '*Resolved*\n<!date^1741090800^{date_short_pretty} {time}|2025-03-04 12:20 UTC>' },
        ],
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: 'authwatch · 2025-03-04 12:20 UTC' }] },
    ],
  });
});

test('"credential changed" and unchanged TLS are said in so many words', () => {
  const n = regression();
  n.changes = {
    credential: 'changed',
    tlsProtocol: { status: 'unchanged', value: 'TLSv1.3' },
    tlsCipher: { status: 'unchanged', value: 'TLS_AES_256_GCM_SHA384' },
    tlsCertificate: { status: 'changed', before: 'AA:BB', after: 'CC:DD' },
    identity: { status: 'unknown' },
  };
  const text = allText(render(n));
  assert.match(text, /credential changed since the last success/);
  assert.match(text, /TLS protocol unchanged \(TLSv1\.3\)/);
  assert.match(text, /TLS certificate changed: AA:BB → CC:DD/);
  assert.doesNotMatch(text, /downgrade/);
});

test('a never-authenticated incident has no "since the last success" section', () => {
  const n = regression();
  n.transition = { from: 'unknown', to: 'failing' };
  n.incident = { state: 'failing', openedAt: n.at, resolvedAt: null };
  n.lastSuccessAt = null;
  n.changes = null;
  const payload = render(n);
  assert.equal(payload.blocks[0].type === 'header' && payload.blocks[0].text.text, ':x: salesforce-to-jira: has never authenticated');
  assert.doesNotMatch(allText(payload), /Since the last success/);
  assert.match(allText(payload), /\*Last success\*\\nnever/);
});

test('an unreachable incident without an HTTP answer says so', () => {
  const n = regression();
  n.transition = { from: 'ok', to: 'unreachable' };
  n.incident = { state: 'unreachable', openedAt: n.at, resolvedAt: null };
  n.http = null;
  const text = allText(render(n));
  assert.match(text, /salesforce-to-jira: unreachable/);
  assert.match(text, /No HTTP response\./);
});

test('a reminder says for how long the incident has been open', () => {
  const n = regression();
  n.kind = 'incident_reminder';
  n.at = '2025-03-04T13:15:00.000Z';
  const payload = render(n);
  assert.equal(payload.blocks[0].type === 'header' && payload.blocks[0].text.text, ':rotating_light: salesforce-to-jira: auth still failing after 3h');
  assert.match(allText(payload), /Open since <!date\^1741083300/);
});

test('event notifications: TLS downgrade, certificate and token expiry, identity change, test', () => {
  const base = regression();
  const event = (patch: Partial<Notification>): Notification => ({ ...base, transition: null, incident: null, diagnosis: null, http: null, firstFailureAt: null, ...patch });
  const headers = [
    event({ kind: 'tls_changed' }),
    event({ kind: 'cert_expiring', certificate: { notAfter: '2025-03-10T00:00:00.000Z', daysLeft: 5, subject: 'CN=*.atlassian.net' } }),
    event({ kind: 'token_expiring', token: { expiresAt: '2025-03-05', daysLeft: 0 } }),
    event({ kind: 'identity_changed', changes: { ...base.changes!, identity: { status: 'changed', before: 'acc-1', after: 'acc-2' } } }),
    { ...event({ kind: 'test' }), connection: null, changes: null, lastSuccessAt: null },
  ].map((n) => {
    const payload = render(n);
    return payload.blocks[0].type === 'header' ? payload.blocks[0].text.text : '';
  });
  assert.deepEqual(headers, [
    ':lock: salesforce-to-jira: TLS downgraded to TLSv1.2',
    ':hourglass_flowing_sand: salesforce-to-jira: TLS certificate expires in 5 days',
    ':hourglass_flowing_sand: salesforce-to-jira: token expires in less than a day',
    ':bust_in_silhouette: salesforce-to-jira: authenticates as someone else',
    ':test_tube: authwatch: test notification',
  ]);
});

test('server-provided text full of Slack control characters is escaped and stays within limits', () => {
  const n = regression();
  const nasty = '<!channel> & <https://evil.example|click> *bold* _it_ ~s~ ```fence``` `tick` >quote\u0000\u001b[31m ';
  n.http!.message = nasty.repeat(10).slice(0, 500);
  n.http!.headers = { 'x-seraph-loginreason': '<AUTHENTICATED_FAILED>&`x`', 'www-authenticate': 'Basic realm="<x>"' + '&'.repeat(500) };
  n.diagnosis!.detail = nasty;
  const payload = render(n);
  const text = allText(payload);
  assert.doesNotMatch(text, /<!channel>/, 'a server cannot ping the channel');
  assert.doesNotMatch(text, /<https:\/\/evil/, 'a server cannot inject a link');
  assert.match(text, /&lt;!channel&gt; &amp; &lt;https:\/\/evil\.example\|click&gt;/);
  assert.doesNotMatch(text, /\\u0000|\\u001b/, 'control characters are dropped');
  const serverSection = payload.blocks.find((block) => block.type === 'section' && block.text?.text.startsWith('*Server message*'));
  assert.ok(serverSection && serverSection.type === 'section');
  // one code block, opened and closed once: the server's own fences cannot close it early
  assert.equal(serverSection.text!.text.split('```').length, 3);
});

test('a huge remediation list and a long connection name never break a limit', () => {
  const n = regression();
  n.connection = { ...CONNECTION, name: 'x'.repeat(100) };
  n.diagnosis!.remediation = Array.from({ length: 5000 }, (_, index) => `Step ${index} & <more> ${'y'.repeat(80)}`);
  n.diagnosis!.explanation = 'z&'.repeat(4000);
  const payload = render(n);
  assert.ok(payload.blocks.length <= SLACK_LIMITS.blocks);
  const header = payload.blocks[0];
  assert.ok(header.type === 'header' && header.text.text.length <= SLACK_LIMITS.headerText);
  assert.match(allText(payload), /more steps not shown/);
  assert.match(allText(payload), /Open the dashboard/, 'the footer survives');
});

test('a single enormous remediation step is cut without breaking an escape', () => {
  const n = regression();
  n.diagnosis!.remediation = ['&'.repeat(10_000)];
  render(n);
});

test('validateSlackPayload reports what Slack would refuse', () => {
  const problems = validateSlackPayload({
    text: '',
    blocks: [
      { type: 'header', text: { type: 'mrkdwn', text: 'h'.repeat(151) } },
      { type: 'section', text: { type: 'mrkdwn', text: 'a < b & c' } },
      { type: 'section' },
      ...Array.from({ length: 50 }, () => ({ type: 'divider' })),
    ],
  });
  assert.deepEqual(problems, [
    'text: the fallback text is empty',
    'blocks: 53 blocks, limit 50',
    'blocks[0].text: type must be plain_text',
    'blocks[0].text: 151 characters, limit 150',
    'blocks[1].text: unescaped "<" at 2',
    'blocks[1].text: unescaped "&" at 6',
    'blocks[2]: a section needs text or fields',
  ]);
});

test('clampMrkdwn never cuts an entity, a link or leaves a code block open', () => {
  assert.equal(clampMrkdwn('abc &amp; def', 10), 'abc …');
  assert.equal(clampMrkdwn('see <https://example.com|the link> now', 20), 'see …');
  const fenced = clampMrkdwn('```\n' + 'x'.repeat(100) + '\n```', 30);
  assert.ok(fenced.length <= 30);
  assert.ok(fenced.endsWith('…\n```'));
});
