import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText, ConfigError } from '../../src/config/load.js';
import { routeFor, slackDestinations } from '../../src/notify/slack/destinations.js';

/** A config must watch something (an empty one is refused); the Slack settings are what these tests look at. */
const ONE_CONNECTION = `
connections:
  - name: jira
    url: https://acme.atlassian.net
    auth: { type: basic, username: bot@acme.example, secret: { env: JIRA_TOKEN } }
`;

function problems(slack: string): string {
  try {
    parseConfigText(`alerting:\n  slack:\n${slack.replace(/^/gm, '    ')}\n${ONE_CONNECTION}`, 'authwatch.yaml');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.describe();
  }
  assert.fail('the config was accepted');
}

test('alerting.slack: a default destination, routes by labels, the Web API settings and the group window', () => {
  const config = parseConfigText(`
alerting:
  slack:
    webhookUrl: { env: SLACK_WEBHOOK_URL }
    token: { env: SLACK_BOT_TOKEN }
    apiUrl: http://127.0.0.1:8080/api
    groupWindow: 30s
    routes:
      - { name: crm, match: { team: crm }, channel: C0CRM }
      - { name: billing-eu, match: { team: billing, region: eu }, webhookUrl: { file: /run/billing } }
${ONE_CONNECTION}`);
  const slack = config.alerting.slack!;
  assert.equal(slack.groupWindowMs, 30_000);
  const destinations = slackDestinations(slack);
  assert.deepEqual(destinations.map((d) => [d.name, d.target, d.delivery.kind]), [
    ['default', 'webhook', 'webhook'],
    ['crm', 'route:crm', 'web'],
    ['billing-eu', 'route:billing-eu', 'webhook'],
  ]);
  assert.equal(routeFor(destinations, { team: 'crm', integration: 'salesforce' })?.name, 'crm');
  assert.equal(routeFor(destinations, { team: 'billing', region: 'eu' })?.name, 'billing-eu');
  assert.equal(routeFor(destinations, { team: 'billing', region: 'us' })?.name, 'default', 'every label of a match must be equal');
  assert.equal(routeFor(destinations, {})?.name, 'default');
});

test('the old form (only webhookUrl) still means one destination, no grouping', () => {
  const config = parseConfigText(`alerting:\n  slack: { webhookUrl: { env: SLACK_WEBHOOK_URL } }\n${ONE_CONNECTION}`);
  assert.equal(config.alerting.slack!.groupWindowMs, 0);
  assert.deepEqual(slackDestinations(config.alerting.slack!).map((d) => d.target), ['webhook']);
});

test('alerting.slack mistakes are clear', () => {
  assert.match(problems('routes: []'), /alerting\.slack.*needs webhookUrl \(an incoming webhook\) or channel \(with alerting\.slack\.token\)/);
  assert.match(problems('webhookUrl: { env: A }\nchannel: C1\ntoken: { env: T }'), /has both webhookUrl and channel; give one/);
  assert.match(problems('channel: C0CRM'), /alerting\.slack\.token.*set token to the Slack app token/);
  assert.match(problems('webhookUrl: { env: A }\nroutes:\n  - { name: crm, match: { team: crm } }'), /alerting\.slack\.routes\[0\].*route "crm" needs webhookUrl/);
  assert.match(problems('webhookUrl: { env: A }\nroutes:\n  - { name: crm, match: {}, webhookUrl: { env: B } }'), /routes\[0\]\.match.*must name at least one label/);
  assert.match(
    problems('webhookUrl: { env: A }\nroutes:\n  - { name: crm, match: { team: crm }, webhookUrl: { env: B } }\n  - { name: crm, match: { team: x }, webhookUrl: { env: C } }'),
    /routes\[1\]\.name.*duplicate route name "crm" \(first used by routes\[0\]\)/,
  );
  assert.match(problems('webhookUrl: { env: A }\ngroupWindow: soon'), /groupWindow.*must be a duration/);
  assert.match(problems('webhookUrl: { env: A }\napiUrl: http://slack.example.com/api'), /apiUrl.*must use https/);
  assert.match(problems('webhookUrl: { env: A }\nchannel_id: C1'), /channel_id/);
});

test('literal Slack secrets are accepted with a warning', () => {
  const config = parseConfigText(`alerting:\n  slack:\n    channel: C1\n    token: xoxb-literal\n${ONE_CONNECTION}`);
  assert.ok(config.warnings.some((warning) => warning.includes('alerting.slack.token is a literal')));
  assert.ok(!config.warnings.join(' ').includes('xoxb-literal'));
});
