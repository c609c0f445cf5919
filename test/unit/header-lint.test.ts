import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasLintErrors, lintAuthorizationHeader, type LintDeployment, type LintFinding } from '../../src/diagnosis/header-lint.js';

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const CLASSIC_TOKEN = 'Xy7kQ2pL9vR4tM8nB3wZ6cA1';
const CURRENT_TOKEN = `ATATT3xFfGF0${'q7Lk2_Pw9-Zr4Tn8'.repeat(11)}=8A3B1C2D`;
const EMAIL = 'fred@example.com';

function lint(value: string, deployment: LintDeployment): LintFinding[] {
  const findings = lintAuthorizationHeader(value, deployment);
  // Whatever the finding, the message never reveals the value, the decoded pair, the username or the secret.
  const decoded = (() => {
    const token = value.trim().split(/\s+/)[1] ?? '';
    return Buffer.from(token, 'base64').toString('utf8');
  })();
  const [username, secret] = decoded.split(':');
  for (const finding of findings) {
    for (const forbidden of [value.trim(), decoded.trim(), username, secret?.trim(), value.trim().split(/\s+/)[1]]) {
      if (forbidden && forbidden.length >= 4 && !/^(basic|bearer)$/i.test(forbidden)) assert.ok(!finding.message.includes(forbidden), `${finding.code} message leaks ${JSON.stringify(forbidden)}`);
    }
  }
  return findings;
}

const codes = (findings: LintFinding[]) => findings.map((finding) => finding.code);

test('a good Cloud header (classic or current token) and a good DC header have no findings', () => {
  assert.deepEqual(lint(`Basic ${b64(`${EMAIL}:${CLASSIC_TOKEN}`)}`, 'cloud'), []);
  assert.deepEqual(lint(`Basic ${b64(`${EMAIL}:${CURRENT_TOKEN}`)}`, 'cloud'), []);
  assert.deepEqual(lint(`basic ${b64(`${EMAIL}:${CURRENT_TOKEN}`)}`, 'cloud'), [], 'the scheme is case-insensitive');
  assert.deepEqual(lint(`Basic ${b64('svc-sf:Correct-Horse-9')}`, 'datacenter'), []);
  assert.deepEqual(lint('Bearer NjM0MjY5ODk3NjE4OklxZ3Bh7yW1n3lM0dX2Qk1vU2Q5', 'datacenter'), [], 'DC personal access tokens are Bearer');
  assert.deepEqual(lint(`Basic ${b64('fred:fred').replace(/=+$/, '')}`, null), [], 'base64 without padding is accepted');
});

test('the `echo user:token | base64` mistake: a newline inside the decoded credentials', () => {
  const findings = lint(`Basic ${b64(`${EMAIL}:s3cr3t-T0ken\n`)}`, 'cloud');
  const newline = findings.find((finding) => finding.code === 'trailing_newline');
  assert.ok(newline, JSON.stringify(codes(findings)));
  assert.equal(newline.severity, 'error');
  assert.match(newline.message, /echo -n/);
  assert.ok(hasLintErrors(findings));
  // A CR LF (Windows, PowerShell) too, and the rest is still checked after it.
  assert.deepEqual(codes(lint(`Basic ${b64(`${EMAIL}:${CLASSIC_TOKEN}\r\n`)}`, 'cloud')), ['trailing_newline']);
});

test('a trailing newline in the raw header value itself', () => {
  const findings = lint(`Basic ${b64(`${EMAIL}:${CLASSIC_TOKEN}`)}\n`, 'cloud');
  assert.deepEqual(codes(findings), ['trailing_newline']);
  assert.match(findings[0].message, /header value ends with a newline/);
});

test('missing colon: the token alone was encoded', () => {
  const findings = lint(`Basic ${b64(CLASSIC_TOKEN)}`, 'cloud');
  assert.deepEqual(codes(findings), ['missing_colon']);
  assert.equal(findings[0].severity, 'error');
});

test('not base64: raw username:secret, URL-safe alphabet, binary garbage', () => {
  const raw = lint(`Basic ${EMAIL}:${CLASSIC_TOKEN}`, 'cloud');
  assert.deepEqual(codes(raw), ['not_base64']);
  assert.match(raw[0].message, /pasted without encoding/);
  assert.match(lint('Basic ab-_cd-_', null)[0].message, /URL-safe/);
  assert.deepEqual(codes(lint('Basic abcde', null)), ['not_base64'], 'impossible length');
  assert.deepEqual(codes(lint('Basic //79/v3+', null)), ['not_base64'], 'decodes to bytes that are not text');
});

test('whitespace: in the stored value, inside the base64, inside the decoded parts, between scheme and credentials', () => {
  assert.deepEqual(codes(lint(` Basic ${b64('fred:fred')}`, null)), ['whitespace']);
  assert.deepEqual(codes(lint(`Basic ${b64('fred:fred')} `, null)), ['whitespace']);
  assert.deepEqual(codes(lint(`Basic  ${b64('fred:fred')}`, null)), ['whitespace']);
  const wrapped = lint(`Basic ${b64(`${EMAIL}:${CURRENT_TOKEN}`).replace(/(.{76})/g, '$1\n')}`, 'cloud');
  assert.deepEqual(codes(wrapped), ['whitespace']);
  assert.match(wrapped[0].message, /line break.*wrapped/);
  const spaceInSecret = lint(`Basic ${b64('svc-sf:pass word')}`, 'datacenter');
  assert.deepEqual(codes(spaceInSecret), ['whitespace']);
  assert.match(spaceInSecret[0].message, /secret part contains a space at position 5 of 9/);
  assert.deepEqual(codes(lint(`Basic ${b64(`${EMAIL}\u200b:${CLASSIC_TOKEN}`)}`, 'cloud')), ['whitespace'], 'invisible characters count');
  assert.ok(lint(`Basic ${b64('svc-sf:pass word')}`, 'datacenter').every((finding) => finding.severity === 'error'));
});

test('empty and unknown schemes', () => {
  assert.deepEqual(codes(lint('', null)), ['empty']);
  assert.deepEqual(codes(lint('   ', null)), ['empty']);
  assert.deepEqual(codes(lint('Basic', null)), ['empty']);
  assert.deepEqual(codes(lint(`Basic ${b64(':token')}`, null)), ['empty']);
  const digest = lint('Digest username="fred", realm="jira"', null);
  assert.deepEqual(codes(digest), ['scheme_unknown']);
  assert.match(digest[0].message, /"Digest"/);
  // An unknown first word is not printed: it may be the secret itself.
  const secretAsScheme = lint('hunter2secret more', null);
  assert.deepEqual(codes(secretAsScheme), ['scheme_unknown']);
  assert.ok(!secretAsScheme[0].message.includes('hunter2secret'));
  const bare = lint(b64('fred:fred'), null);
  assert.deepEqual(codes(bare), ['scheme_unknown']);
  assert.match(bare[0].message, /"Basic " prefix missing/);
  assert.match(lint(`Authorization: Basic ${b64('fred:fred')}`, null)[0].message, /header name/);
});

test('Cloud: username must be an email, secret must look like an API token (warnings)', () => {
  const findings = lint(`Basic ${b64('fred:hunter2hunter2')}`, 'cloud');
  assert.deepEqual(codes(findings), ['username_not_email', 'password_like_secret']);
  assert.ok(findings.every((finding) => finding.severity === 'warning'));
  assert.ok(!hasLintErrors(findings));
  const truncated = lint(`Basic ${b64(`${EMAIL}:${CURRENT_TOKEN.slice(0, 60)}`)}`, 'cloud');
  assert.deepEqual(codes(truncated), ['password_like_secret']);
  assert.match(truncated[0].message, /cut off/);
  // The same header on Data Center is a plain username/password: fine.
  assert.deepEqual(lint(`Basic ${b64('fred:hunter2hunter2')}`, 'datacenter'), []);
  // Deployment unknown, but a current Cloud token gives it away.
  assert.deepEqual(codes(lint(`Basic ${b64(`fred:${CURRENT_TOKEN}`)}`, null)), ['username_not_email']);
});

test('a Cloud API token sent as Bearer', () => {
  const classic = lint(`Bearer ${CLASSIC_TOKEN}`, 'cloud');
  assert.deepEqual(codes(classic), ['bearer_api_token']);
  assert.equal(classic[0].severity, 'warning');
  assert.deepEqual(codes(lint(`bearer ${CURRENT_TOKEN}`, null)), ['bearer_api_token']);
  assert.deepEqual(codes(lint(`Bearer ${b64(`${EMAIL}:${CLASSIC_TOKEN}`)}`, 'cloud')), ['bearer_api_token']);
  // OAuth access tokens (JWTs) are legitimately Bearer on Cloud, and so are DC PATs on DC.
  assert.deepEqual(lint('Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', 'cloud'), []);
  assert.deepEqual(lint(`Bearer ${CLASSIC_TOKEN}`, 'datacenter'), []);
});

test('a basic secret that is itself base64 of email:token is "already encoded", not a password', () => {
  const pastedEncoded = b64(`${EMAIL}:${CURRENT_TOKEN}`);
  const findings = lint(`Basic ${b64(`${EMAIL}:${pastedEncoded}`)}`, 'cloud');
  assert.deepEqual(codes(findings), ['already_encoded']);
  assert.match(findings[0].message, /itself base64 of username:secret: it was encoded already/);
  assert.equal(findings[0].severity, 'warning');
  assert.deepEqual(codes(lint(`Basic ${b64(`svc-sync:${b64('svc-sync:Correct-Horse-9')}`)}`, 'datacenter')), ['already_encoded'], 'on Data Center too');
  assert.deepEqual(codes(lint(`Basic ${b64(`${EMAIL}:${CLASSIC_TOKEN}`)}`, 'cloud')), [], 'a classic token (base64 alphabet, no colon inside) is not mistaken for one');
});
