import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listConnections, MAX_LISTED, renderGroupMessage, type GroupView } from '../../src/notify/slack/group-render.js';
import { validateSlackPayload } from '../../src/notify/slack/render.js';
import { regression } from '../support/slack-notifications.js';

function view(extra: Partial<GroupView> = {}): GroupView {
  return {
    kind: 'announce',
    state: 'regressed',
    outcome: 'basic_auth_rejected',
    hosts: ['acme.atlassian.net'],
    diagnosis: regression().diagnosis,
    httpStatus: 401,
    connections: Array.from({ length: 223 }, (_, index) => `integration-${String(index + 1).padStart(3, '0')}`),
    total: 223,
    stillFailing: 223,
    openedAt: '2025-03-04T10:15:00.000Z',
    announcedAt: null,
    resolvedAt: null,
    at: '2025-03-04T10:15:30.000Z',
    dashboardUrl: null,
    ...extra,
  };
}

const text = (payload: { text: string; blocks: unknown[] }) => JSON.stringify(payload);

test('an announcement of 223 connections: the cause and the diagnosis once, 40 names and "and 183 more", within Slack limits', () => {
  const payload = renderGroupMessage(view());
  assert.deepEqual(validateSlackPayload(payload), []);
  assert.equal(payload.blocks[0].type === 'header' && payload.blocks[0].text.text, ':rotating_light: 223 connections on acme.atlassian.net: auth regressed');
  const all = text(payload);
  assert.match(all, /\*Cause:\* `basic_auth_rejected` \(auth\) — Jira Cloud refused the email\/API token pair: every connection to acme.atlassian.net got the same answer \(HTTP 401\)/);
  assert.equal(all.match(/What to do/g)?.length, 1);
  assert.ok(all.includes('`integration-040`') && !all.includes('integration-041'));
  assert.match(all, /and 183 more/);
  assert.equal(MAX_LISTED, 40);
});

test('listConnections: sorted, all of them when few', () => {
  assert.equal(listConnections(['b', 'a']), '`a`, `b`');
  assert.equal(listConnections(['c', 'b', 'a'], 2), '`a`, `b` and 1 more');
});

test('follow-ups name the outage they belong to; a shared credential on several sites says so', () => {
  const joined = renderGroupMessage(view({ kind: 'joined', connections: ['late-one'], total: 224, stillFailing: 224, announcedAt: '2025-03-04T10:15:30.000Z', at: '2025-03-04T10:17:30.000Z' }));
  assert.deepEqual(validateSlackPayload(joined), []);
  assert.match(text(joined), /1 more connection on acme.atlassian.net: auth regressed/);
  assert.match(text(joined), /`late-one` joins the outage on acme.atlassian.net that opened/);
  assert.match(text(joined), /Now 224 connections failing/);

  const recovered = renderGroupMessage(view({ kind: 'recovered', connections: ['a', 'b'], total: 5, stillFailing: 3, announcedAt: '2025-03-04T10:15:30.000Z' }));
  assert.match(text(recovered), /2 of 5 connections on acme.atlassian.net work again/);
  assert.match(text(recovered), /Still failing: 3 connections/);

  const resolved = renderGroupMessage(view({ kind: 'resolved', connections: ['a', 'b'], total: 2, stillFailing: 0, resolvedAt: '2025-03-04T12:20:00.000Z', announcedAt: '2025-03-04T10:15:30.000Z' }));
  assert.match(text(resolved), /all 2 connections work again/);
  assert.match(text(resolved), /\*Resolved after 2h 5m\.\*/);

  const shared = renderGroupMessage(view({ hosts: ['a.atlassian.net', 'b.atlassian.net'], connections: ['x', 'y'], total: 2 }));
  assert.match(text(shared), /2 connections on 2 sites: auth regressed/);
  assert.match(text(shared), /the same credential fails on a.atlassian.net, b.atlassian.net/);
});
