import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeTokenError } from '../../src/probe/oauth.js';
import { maskSecrets, secretForms } from '../../src/probe/response.js';

const SECRET = "cl1entS3cretV@lue!'()~";
const mask = (text: string) => maskSecrets(text, secretForms(SECRET, null));

test('a token endpoint error that echoes the client secret across the 200-character cut keeps no part of it', () => {
  const body = `${'x'.repeat(175)} bad secret ${SECRET} and more text after it`;
  const described = describeTokenError(400, body, mask);
  assert.ok(described.length <= 'HTTP 400: '.length + 200);
  for (let length = 4; length <= SECRET.length; length++) {
    assert.ok(!described.includes(SECRET.slice(0, length)), `a ${length}-character prefix of the secret survived: ${described}`);
  }
});

test('the secret is masked in every encoding a token endpoint may echo it in, including the form field', () => {
  const formField = new URLSearchParams({ client_secret: SECRET }).toString();
  const body = `${formField} | ${encodeURIComponent(SECRET)} | ${Buffer.from(SECRET).toString('base64')}`;
  const described = describeTokenError(400, body, mask);
  assert.equal(described, 'HTTP 400: client_secret=*** | *** | ***==');
  assert.equal(describeTokenError(401, JSON.stringify({ error: 'invalid_client', error_description: `secret ${SECRET} is wrong` }), mask), 'invalid_client: secret *** is wrong');
});
