import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignToGroups, causeKeys, decideGroupMessages, type GroupCandidate, type GroupMember, type OpenGroup } from '../../src/notify/grouping.js';

const T0 = '2025-03-04T10:00:00.000Z';
const at = (seconds: number) => new Date(Date.parse(T0) + seconds * 1000).toISOString();
const WINDOW = { windowMs: 30_000, reminderIntervalMs: 0 };

function candidate(incidentId: number, extra: Partial<GroupCandidate & { host: string; outcome: string; fingerprint: string | null; state: string }> = {}): GroupCandidate {
  const keys = causeKeys({ state: extra.state ?? 'regressed', outcome: extra.outcome ?? 'basic_auth_rejected', host: extra.host ?? 'acme.atlassian.net', fingerprint: extra.fingerprint === undefined ? `fp-${incidentId}` : extra.fingerprint });
  return { incidentId, connection: `c${incidentId}`, destination: extra.destination ?? 'webhook', openedAt: extra.openedAt ?? at(incidentId), ...keys };
}

function member(incidentId: number, extra: Partial<GroupMember> = {}): GroupMember {
  return { incidentId, connection: `c${incidentId}`, joinedAt: at(0), announcedAt: null, resolvedAt: null, resolutionAnnouncedAt: null, ...extra };
}

function group(id: number, members: GroupMember[], extra: Partial<OpenGroup> = {}): OpenGroup {
  return { id, destination: 'webhook', ...causeKeys({ state: 'regressed', outcome: 'basic_auth_rejected', host: 'acme.atlassian.net', fingerprint: null }), openedAt: at(0), announcedAt: null, members, ...extra };
}

test('assignToGroups: one cause is one group; another host, outcome, state or destination is another; a shared credential joins across hosts', () => {
  const cases: { name: string; candidates: GroupCandidate[]; groups: OpenGroup[]; expected: string[] }[] = [
    { name: 'same host and outcome', candidates: [candidate(1), candidate(2), candidate(3)], groups: [], expected: ['new0', 'new0', 'new0'] },
    { name: 'another host', candidates: [candidate(1), candidate(2, { host: 'other.atlassian.net' })], groups: [], expected: ['new0', 'new1'] },
    { name: 'another outcome', candidates: [candidate(1), candidate(2, { outcome: 'connection_refused' })], groups: [], expected: ['new0', 'new1'] },
    { name: 'another state', candidates: [candidate(1), candidate(2, { state: 'failing' })], groups: [], expected: ['new0', 'new1'] },
    { name: 'another destination (team)', candidates: [candidate(1), candidate(2, { destination: 'route:billing' })], groups: [], expected: ['new0', 'new1'] },
    { name: 'one credential on two sites', candidates: [candidate(1, { fingerprint: 'shared' }), candidate(2, { host: 'b.atlassian.net', fingerprint: 'shared' })], groups: [], expected: ['new0', 'new0'] },
    { name: 'joins an open group', candidates: [candidate(7)], groups: [group(4, [member(1)], { announcedAt: at(30) })], expected: ['id4'] },
    { name: 'the open group of another destination is not joined', candidates: [candidate(7, { destination: 'route:crm' })], groups: [group(4, [member(1)])], expected: ['new0'] },
  ];
  for (const { name, candidates, groups, expected } of cases) {
    const { assignments } = assignToGroups(groups, candidates);
    assert.deepEqual(assignments.map((a) => ('id' in a.group ? `id${a.group.id}` : `new${a.group.index}`)), expected, name);
  }
});

test('assignToGroups: a new group opens at its first member\'s opening, in time order whatever the input order', () => {
  const { newGroups, assignments } = assignToGroups([], [candidate(3, { openedAt: at(3) }), candidate(1, { openedAt: at(1) })]);
  assert.equal(newGroups.length, 1);
  assert.equal(newGroups[0].openedAt, at(1));
  assert.deepEqual(assignments.map((a) => a.incidentId), [1, 3]);
});

test('decideGroupMessages at fixed instants', () => {
  const thirty = Array.from({ length: 30 }, (_, index) => member(index + 1, { joinedAt: at(index % 3) }));
  const announced = (members: GroupMember[]) => members.map((m) => ({ ...m, announcedAt: at(30) }));
  const cases: { name: string; groups: OpenGroup[]; now: string; expected: string[] }[] = [
    { name: 'inside the window: nothing yet', groups: [group(1, thirty)], now: at(29), expected: [] },
    { name: 'the window ends: one announcement of all 30', groups: [group(1, thirty)], now: at(30), expected: ['announce 30 slack-group:1|announce'] },
    { name: 'announced: nothing more while all fail', groups: [group(1, announced(thirty), { announcedAt: at(30) })], now: at(100), expected: [] },
    {
      name: 'a 31st joins 2 minutes later: told a window after it joined, not at once',
      groups: [group(1, [...announced(thirty), member(31, { joinedAt: at(120) })], { announcedAt: at(30) })],
      now: at(149),
      expected: [],
    },
    {
      name: 'the 31st, a window later: one joined message',
      groups: [group(1, [...announced(thirty), member(31, { joinedAt: at(120) })], { announcedAt: at(30) })],
      now: at(150),
      expected: [`joined 1 slack-group:1|joined|${at(120)}`],
    },
    {
      name: 'all recovered: one resolved message at once',
      groups: [group(1, announced(thirty).map((m) => ({ ...m, resolvedAt: at(200) })), { announcedAt: at(30) })],
      now: at(200),
      expected: ['resolved 30 slack-group:1|resolved'],
    },
    {
      name: 'some recovered: wait a window for more',
      groups: [group(1, announced(thirty).map((m, i) => (i < 10 ? { ...m, resolvedAt: at(200) } : m)), { announcedAt: at(30) })],
      now: at(229),
      expected: [],
    },
    {
      name: 'some recovered, a window later: one recovered message for them',
      groups: [group(1, announced(thirty).map((m, i) => (i < 10 ? { ...m, resolvedAt: at(200) } : m)), { announcedAt: at(30) })],
      now: at(230),
      expected: [`recovered 10 slack-group:1|recovered|${at(200)}`],
    },
    {
      name: 'the recovery of members already told is not told again; the rest recovered: resolved',
      groups: [group(1, announced(thirty).map((m, i) => ({ ...m, resolvedAt: at(i < 10 ? 200 : 300), resolutionAnnouncedAt: i < 10 ? at(230) : null })), { announcedAt: at(30) })],
      now: at(300),
      expected: ['resolved 20 slack-group:1|resolved'],
    },
    {
      name: 'a member that recovered before the announcement: announced first, resolved later',
      groups: [group(1, [member(1, { resolvedAt: at(5) })])],
      now: at(30),
      expected: ['announce 1 slack-group:1|announce'],
    },
  ];
  for (const { name, groups, now, expected } of cases) {
    const messages = decideGroupMessages(groups, now, WINDOW, null);
    assert.deepEqual(messages.map((m) => `${m.kind} ${m.incidentIds.length} ${m.key}`), expected, name);
  }
});

test('decideGroupMessages: reminders per group on the reminder slots, keyed by their due time, only for members still failing', () => {
  const members = [member(1, { announcedAt: at(30) }), member(2, { announcedAt: at(30), resolvedAt: at(40), resolutionAnnouncedAt: at(70) })];
  const timing = { windowMs: 30_000, reminderIntervalMs: 3_600_000 };
  const g = group(1, members, { announcedAt: at(30) });
  assert.deepEqual(decideGroupMessages([g], at(3599), timing, at(3000)), []);
  const [reminder] = decideGroupMessages([g], at(3601), timing, at(3000));
  assert.equal(reminder.kind, 'reminder');
  assert.equal(reminder.key, `slack-group:1|reminder|${at(3600)}`);
  assert.deepEqual(reminder.incidentIds, [1]);
  assert.deepEqual(decideGroupMessages([g], at(3700), timing, at(3601)), [], 'the same slot is not planned twice');
});
