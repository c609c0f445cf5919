import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createLogger, maskText, maskValue, SecretRegistry, type LogLevel } from '../../src/log/logger.js';

const API_TOKEN = 'ATATT3xFfGF0q1w2e3r4t5y6u7i8o9p0';
const PASSWORD = 'correct-horse-battery';
const WEBHOOK = 'https://hooks.slack.com/services/T0123ABCD/B0456EFGH/abcdefghijklmnopqrstuvwx';
const OAUTH_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.payload.signature';
const BASIC_VALUE = Buffer.from(`bot@acme.com:${API_TOKEN}`).toString('base64');

function capture(level: LogLevel = 'debug') {
  const stream = new PassThrough();
  let output = '';
  stream.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const secrets = new SecretRegistry();
  const logger = createLogger({ level, stream, secrets, now: () => new Date('2026-03-01T10:00:00.000Z') });
  const lines = () =>
    output
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, secrets, output: () => output, lines };
}

function assertNoSecrets(output: string, secrets: string[]): void {
  for (const secret of secrets) assert.equal(output.includes(secret), false, `output contains ${secret.slice(0, 6)}…: ${output}`);
}

test('each line is one JSON object with timestamp, level, msg and the fields', () => {
  const { logger, lines, output } = capture();
  logger.info('probe finished', { connection: 'salesforce-to-jira', outcome: 'ok', status: 200, duration: 0.42 });
  logger.child({ connection: 'dc' }).warn('state changed', { from: 'ok', to: 'regressed' });
  assert.equal(output().split('\n').length, 3, 'two lines ending with a newline');
  assert.deepEqual(lines(), [
    { timestamp: '2026-03-01T10:00:00.000Z', level: 'info', msg: 'probe finished', connection: 'salesforce-to-jira', outcome: 'ok', status: 200, duration: 0.42 },
    { timestamp: '2026-03-01T10:00:00.000Z', level: 'warn', msg: 'state changed', connection: 'dc', from: 'ok', to: 'regressed' },
  ]);
});

test('lines below the configured level are dropped', () => {
  const { logger, lines } = capture('warn');
  logger.debug('noise');
  logger.info('probe finished');
  logger.warn('state changed');
  logger.error('database locked');
  assert.deepEqual(
    lines().map((line) => line.level),
    ['warn', 'error'],
  );
});

test('a line below the level is never formatted: its fields are not even read', () => {
  const { logger, lines } = capture('warn');
  let reads = 0;
  const fields = {
    get detail() {
      reads += 1;
      return 'the API token was refused';
    },
  };
  logger.info('probe', fields);
  logger.child({ connection: 'dc' }).debug('probe skipped', fields);
  assert.equal(reads, 0, 'the masking format ran for a disabled level');
  logger.warn('state changed', fields);
  assert.equal(reads, 1);
  assert.deepEqual(lines().map((line) => [line.level, line.detail]), [['warn', 'the API token was refused']]);
});

test('registered secrets, Authorization values, webhook URLs and sensitive keys are masked in messages and nested fields', () => {
  const { logger, secrets, output, lines } = capture();
  secrets.registerBasicCredential('bot@acme.com', API_TOKEN);
  logger.registerSecret(PASSWORD);
  logger.registerSecret(WEBHOOK);
  logger.info(`sent Authorization: Basic ${BASIC_VALUE} to jira`, {
    request: { headers: { Authorization: `Basic ${BASIC_VALUE}`, accept: 'application/json' } },
    config: { auth: { username: 'bot@acme.com', password: PASSWORD, clientSecret: 'not-registered-client-secret' } },
    note: `token was ${API_TOKEN} and the hook ${WEBHOOK}`,
    list: [{ access_token: OAUTH_TOKEN }, `Bearer ${OAUTH_TOKEN}`],
    encoded: encodeURIComponent(PASSWORD),
  });
  assertNoSecrets(output(), [API_TOKEN, PASSWORD, WEBHOOK, OAUTH_TOKEN, BASIC_VALUE, 'not-registered-client-secret', 'B0456EFGH']);
  const [line] = lines();
  assert.equal(line.msg, 'sent Authorization: Basic *** to jira');
  assert.deepEqual((line.request as { headers: unknown }).headers, { Authorization: '***', accept: 'application/json' });
  assert.equal((line.config as { auth: { username: string } }).auth.username, 'bot@acme.com', 'what is not secret stays readable');
  assert.equal(line.note, 'token was *** and the hook ***');
});

test('secrets inside error messages, stacks and causes are masked', () => {
  const { logger, output, lines } = capture();
  logger.registerSecret(API_TOKEN);
  const cause = Object.assign(new Error(`connect failed for ${WEBHOOK}`), { code: 'ECONNREFUSED' });
  const error = new Error(`request with ${API_TOKEN} failed`, { cause });
  logger.error(`delivery failed: ${error.message}`, { error });
  assertNoSecrets(output(), [API_TOKEN, WEBHOOK, 'B0456EFGH']);
  const logged = lines()[0].error as { name: string; message: string; stack: string; cause: { code: string; message: string } };
  assert.equal(logged.message, 'request with *** failed');
  assert.match(logged.stack, /^Error: request with \*\*\* failed\n\s+at /);
  assert.equal(logged.cause.code, 'ECONNREFUSED');
  assert.equal(logged.cause.message, 'connect failed for https://hooks.slack.com/services/***');
});

test("Jira's own messages and WWW-Authenticate challenges survive masking", () => {
  for (const message of [
    'Basic authentication with passwords is deprecated.  For more information, see: https://developer.atlassian.com/cloud/confluence/deprecation-notice-basic-auth/',
    'Basic Authentication has been disabled on this instance.',
    'Bearer realm="OAuth", error="invalid_token"',
    'Client must be authenticated to access this resource.',
    'Basic Authentication Failure - Reason : AUTHENTICATED_FAILED',
    'A Cloud API token sent as Bearer; a DC PAT sent as a Basic password.',
  ]) {
    assert.equal(maskText(message), message);
  }
});

test('credentials nobody registered are still caught by pattern', () => {
  assert.equal(maskText(`curl -H "Authorization: Bearer abc"`), 'curl -H "Authorization: Bearer ***"');
  assert.equal(maskText(`header Basic ${BASIC_VALUE}`), 'header Basic ***');
  assert.equal(maskText(`Bearer ${OAUTH_TOKEN} rejected`), 'Bearer *** rejected');
  assert.equal(maskText('token: Bearer NjM0NTc4OTAxMjM0.'), 'token: Bearer ***.');
  assert.equal(maskText(`posting to ${WEBHOOK}.`), 'posting to https://hooks.slack.com/services/***.');
  assert.equal(maskText('proxy https://user:hunter22@proxy.local:3128/'), 'proxy https://user:***@proxy.local:3128/');
});

test('a registered secret is masked in its base64 forms too, and masking is idempotent', () => {
  const secrets = new SecretRegistry();
  secrets.registerBasicCredential('fred', 'fred-password');
  const echoMistake = Buffer.from('fred:fred-password\n').toString('base64');
  const masked = maskText(`values ${Buffer.from('fred-password').toString('base64')} and ${echoMistake}`, secrets);
  assert.equal(masked.includes('ZnJlZC1wYXNzd29yZA'), false);
  assert.equal(masked.includes(echoMistake.replace(/=+$/, '')), false);
  assert.equal(maskText(masked, secrets), masked);
});

test('values shorter than four characters are not registered (they would mask ordinary words)', () => {
  const secrets = new SecretRegistry();
  secrets.register('abc');
  secrets.register('');
  assert.equal(secrets.size, 0);
  assert.equal(maskText('abc abc', secrets), 'abc abc');
});

test('maskValue keeps structure, survives cycles and turns dates into ISO strings', () => {
  const cyclic: Record<string, unknown> = { name: 'a', at: new Date('2026-01-02T03:04:05Z') };
  cyclic.self = cyclic;
  assert.deepEqual(maskValue(cyclic), { name: 'a', at: '2026-01-02T03:04:05.000Z', self: '[Circular]' });
  assert.deepEqual(maskValue({ token: null, tokenUrl: 'https://auth.atlassian.com/oauth/token', apiKey: 42 }), {
    token: null,
    tokenUrl: 'https://auth.atlassian.com/oauth/token',
    apiKey: '***',
  });
});

test('a secret echoed as an oauth2 form field (!\'()~ escaped) is masked too', () => {
  const secrets = new SecretRegistry();
  secrets.register("pa!ss'w(o)rd*~x");
  assert.equal(secrets.maskIn('body: client_secret=pa%21ss%27w%28o%29rd*%7Ex&grant_type=client_credentials'), 'body: client_secret=***&grant_type=client_credentials');
});
