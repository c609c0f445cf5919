import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeOutcome } from '../../src/diagnosis/outcomes.js';
import { OUTCOMES } from '../../src/diagnosis/outcome-names.js';

const DEPLOYMENTS = ['cloud', 'datacenter'] as const;

test('every outcome has a title, a one-line explanation and at least one remediation step on both deployments', () => {
  for (const outcome of OUTCOMES) {
    for (const deployment of DEPLOYMENTS) {
      const guide = describeOutcome(outcome, deployment);
      const where = `${outcome}/${deployment}`;
      assert.ok(guide.title.trim().length > 0, `${where} title`);
      assert.ok(guide.explanation.trim().length > 20, `${where} explanation`);
      assert.ok(!guide.explanation.includes('\n'), `${where} explanation is one line`);
      assert.ok(guide.remediation.length >= 1, `${where} remediation`);
      for (const step of guide.remediation) assert.ok(step.trim().length > 10 && !step.includes('\n'), `${where} step ${JSON.stringify(step)}`);
    }
  }
});

test('basic_auth_rejected on Cloud walks through email, API token, expiry and encoding', () => {
  const steps = describeOutcome('basic_auth_rejected', 'cloud').remediation.join('\n');
  assert.match(steps, /email/);
  assert.match(steps, /API token, not the account password/);
  assert.match(steps, /Dec 2024.*at most a year.*14 Mar and 12 May 2026/);
  assert.match(steps, /revoked/);
  assert.match(steps, /id\.atlassian\.com → Security → API tokens/);
  assert.match(steps, /echo -n/);
});

test('Cloud and Data Center get different advice where the products differ', () => {
  const captchaDc = describeOutcome('captcha_required', 'datacenter').remediation.join('\n');
  assert.match(captchaDc, /browser/);
  assert.match(captchaDc, /reset the failed-login count/);
  assert.match(captchaDc, /personal access token/);

  const handshakeCloud = describeOutcome('tls_handshake_failed', 'cloud').remediation.join('\n');
  assert.match(handshakeCloud, /TLS 1\.2/);

  const differing = OUTCOMES.filter((outcome) => {
    const cloud = describeOutcome(outcome, 'cloud');
    const dc = describeOutcome(outcome, 'datacenter');
    return JSON.stringify(cloud) !== JSON.stringify(dc);
  });
  for (const outcome of ['basic_auth_rejected', 'auth_rejected', 'captcha_required', 'basic_auth_disabled', 'not_found', 'tls_cert_invalid'] as const) {
    assert.ok(differing.includes(outcome), `${outcome} should differ between cloud and datacenter`);
  }
});

test('the returned guide is a copy: changing it does not change the next answer', () => {
  const first = describeOutcome('forbidden', 'cloud');
  first.remediation.push('tampered');
  assert.ok(!describeOutcome('forbidden', 'cloud').remediation.includes('tampered'));
});
