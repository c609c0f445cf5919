import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyWebApiResponse } from '../../src/notify/slack/web-api.js';
import { markResolved } from '../../src/notify/slack/threads.js';
import { validateSlackPayload } from '../../src/notify/slack/render.js';

const NOW = new Date('2025-03-04T10:00:00.000Z');

test('classifyWebApiResponse: ok, permanent errors, transient errors and rate limits', () => {
  const cases: [number, string | null, string, string][] = [
    [200, null, '{"ok":true,"channel":"C1","ts":"1700000000.000100"}', 'ok C1 1700000000.000100'],
    [200, null, '{"ok":false,"error":"channel_not_found"}', 'rejected Slack chat.postMessage answered channel_not_found (check the channel ID, and that the app is in that channel)'],
    [200, null, '{"ok":false,"error":"invalid_auth"}', 'rejected Slack chat.postMessage answered invalid_auth (check alerting.slack.token)'],
    [200, null, '{"ok":false,"error":"msg_too_long"}', 'rejected Slack chat.postMessage answered msg_too_long'],
    [200, null, '{"ok":false,"error":"internal_error"}', 'retry null Slack chat.postMessage answered internal_error'],
    [429, '30', '{"ok":false,"error":"ratelimited"}', 'retry 30000 Slack chat.postMessage answered HTTP 429 ratelimited'],
    [503, null, 'upstream down', 'retry null Slack chat.postMessage answered HTTP 503'],
    [404, null, '<html>not found</html>', 'rejected Slack chat.postMessage answered HTTP 404 without a JSON body (check alerting.slack.apiUrl)'],
    [200, null, '{"ok":true}', 'rejected Slack chat.postMessage answered ok without channel and ts'],
    [200, null, '{"ok":false,"error":"<script>evil</script>"}', 'rejected Slack chat.postMessage answered scriptevilscript'],
  ];
  for (const [status, retryAfter, body, expected] of cases) {
    const result = classifyWebApiResponse('chat.postMessage', status, retryAfter, body, NOW);
    const shown = result.kind === 'ok' ? `ok ${result.channel} ${result.ts}` : result.kind === 'retry' ? `retry ${result.afterMs} ${result.reason}` : `rejected ${result.reason}`;
    assert.equal(shown, expected, `${status} ${body}`);
  }
});

test('markResolved: a resolved header and the note on top, the original below, still a valid message', () => {
  const original = {
    text: 'crm-sync: auth regressed',
    blocks: [
      { type: 'header' as const, text: { type: 'plain_text' as const, text: ':rotating_light: crm-sync: auth regressed', emoji: true } },
      { type: 'section' as const, text: { type: 'mrkdwn' as const, text: '*Outcome:* `basic_auth_rejected`' } },
    ],
  };
  const resolved = markResolved(original, ':white_check_mark: *Resolved* after 5m.');
  assert.deepEqual(resolved, {
    text: 'Resolved: crm-sync: auth regressed',
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: ':white_check_mark: Resolved: crm-sync: auth regressed', emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: ':white_check_mark: *Resolved* after 5m.' } },
      { type: 'section', text: { type: 'mrkdwn', text: '*Outcome:* `basic_auth_rejected`' } },
    ],
  });
  assert.deepEqual(validateSlackPayload(resolved), []);
});
