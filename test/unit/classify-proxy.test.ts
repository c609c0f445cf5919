// The classifier's proxy and client-certificate rules, on hand-built observations shaped like what squid and
// OpenSSL report (the e2e tests in test/e2e/proxy.test.ts and mtls.test.ts produce the real ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify } from '../../src/diagnosis/classify.js';
import {
  CLIENT, INTERCEPTED_TLS, PROXY, alert, blockPage, dc, intercepted, noClientCert, observation, proxy407, refusedProxy, unknownCa,
} from '../support/classify-samples.js';

test('a proxy that refuses the TCP connection is proxy_unreachable, naming the proxy and where it came from', () => {
  const diagnosis = classify(refusedProxy, dc);
  assert.equal(diagnosis.outcome, 'proxy_unreachable');
  assert.equal(diagnosis.class, 'network');
  assert.equal(diagnosis.detail, 'the proxy http://proxy.corp:3128: no connection: connect ECONNREFUSED 127.0.0.1:3128');
  const fromEnv = classify(observation({ ...refusedProxy, proxy: { ...PROXY, source: 'HTTPS_PROXY' }, error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND proxy.corp', phase: null } }), dc);
  assert.equal(fromEnv.outcome, 'proxy_unreachable');
  assert.match(fromEnv.detail, /^the proxy http:\/\/proxy\.corp:3128 \(from HTTPS_PROXY\): name does not resolve: /);
});

test('407 is proxy_auth_required, saying whether credentials were sent and what the proxy asks for', () => {
  assert.equal(classify(proxy407, dc).outcome, 'proxy_auth_required');
  assert.match(classify(proxy407, dc).detail, /wants credentials and no proxy\.auth is configured \(Proxy-Authenticate: Basic realm="corp"\)$/);
  const refused = classify(observation({ ...proxy407, proxy: { ...proxy407.proxy!, credentials: true } }), dc);
  assert.match(refused.detail, /refused the proxy credentials sent/);
});

test('another CONNECT answer is proxy_tunnel_failed with the block page title and squid error', () => {
  const diagnosis = classify(blockPage, dc);
  assert.equal(diagnosis.outcome, 'proxy_tunnel_failed');
  assert.equal(
    diagnosis.detail,
    'the proxy http://proxy.corp:3128 answered CONNECT with 403 text/html block page: "ERROR: The requested URL could not be retrieved" (X-Squid-Error: ERR_ACCESS_DENIED 0)',
  );
});

test('a timeout waiting for the CONNECT answer is a timeout that says it was the proxy', () => {
  const diagnosis = classify(observation({ proxy: PROXY, error: { code: 'ETIMEDOUT', message: 'no answer within 100 ms in phase tunnel', phase: 'tunnel' } }), dc);
  assert.equal(diagnosis.outcome, 'timeout');
  assert.equal(diagnosis.detail, 'timed out reaching the proxy http://proxy.corp:3128 waiting for its answer to CONNECT (ETIMEDOUT)');
});

test('an untrusted certificate inside the tunnel is tls_intercepted by its issuer; without a proxy it stays tls_cert_invalid', () => {
  const diagnosis = classify(intercepted, dc);
  assert.equal(diagnosis.outcome, 'tls_intercepted');
  assert.match(diagnosis.detail, /^intercepted by O=Acme Corp, CN=Acme Inspection CA: /);
  assert.equal(classify(observation({ ...intercepted, proxy: null }), dc).outcome, 'tls_cert_invalid');
  const expired = observation({ ...intercepted, tls: { ...INTERCEPTED_TLS, authorizationError: 'CERT_HAS_EXPIRED' }, error: { code: 'CERT_HAS_EXPIRED', message: 'x', phase: null } });
  assert.equal(classify(expired, dc).outcome, 'tls_cert_invalid', 'an expired certificate through a proxy is still just expired');
});

test('client certificate alerts: required without one, rejected with one, each alert described', () => {
  assert.equal(classify(noClientCert, dc).outcome, 'client_cert_required');
  assert.equal(classify(noClientCert, dc).detail, 'the server requires a client certificate and none is configured (TLS alert certificate_required)');
  // TLS 1.2 servers answer a missing certificate with handshake_failure, after asking for one.
  const tls12 = observation({ ...noClientCert, error: { code: 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE', message: alert(40, 'ssl/tls alert handshake failure'), phase: null } });
  assert.equal(classify(tls12, dc).outcome, 'client_cert_required');
  const notAsked = observation({ ...tls12, clientCertificate: null });
  assert.equal(classify(notAsked, dc).outcome, 'tls_handshake_failed', 'a handshake failure before any CertificateRequest is a cipher/protocol problem');

  assert.equal(classify(unknownCa, dc).outcome, 'client_cert_rejected');
  assert.equal(
    classify(unknownCa, dc).detail,
    'the server does not trust the issuer of the client certificate O=acme, CN=salesforce-integration (issued by O=acme, CN=acme client CA) (TLS alert unknown_ca)',
  );
  const expired = observation({
    clientCertificate: { ...CLIENT, notAfter: '2026-01-01T00:00:00.000Z' },
    error: { code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED', message: alert(45, 'sslv3 alert certificate expired'), phase: null },
  });
  assert.equal(classify(expired, dc).outcome, 'client_cert_rejected');
  assert.match(classify(expired, dc).detail, /as expired \(it expired on 2026-01-01\) \(TLS alert certificate_expired\)$/);
  const bad = observation({ clientCertificate: CLIENT, error: { code: 'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', message: alert(42, 'sslv3 alert bad certificate'), phase: null } });
  assert.match(classify(bad, dc).detail, /^the server rejected the client certificate .* \(TLS alert bad_certificate\)$/);
});

test('an unreadable or unusable client certificate and a missing proxy secret are credential outcomes', () => {
  const unreadable = observation({ error: { code: 'ERR_CLIENT_CERT_UNREADABLE', message: 'tls.certFile /etc/x.pem is unreadable (ENOENT)', phase: null } });
  assert.equal(classify(unreadable, dc).outcome, 'credential_missing');
  assert.equal(classify(unreadable, dc).detail, 'tls.certFile /etc/x.pem is unreadable (ENOENT); nothing was sent');
  const proxySecret = observation({ proxy: PROXY, error: { code: 'ERR_PROXY_SECRET', message: 'proxy.auth.secret: environment variable P is not set', phase: null } });
  assert.equal(classify(proxySecret, dc).outcome, 'credential_missing');
  const invalid = observation({ error: { code: 'ERR_CLIENT_CERT_INVALID', message: 'the client certificate /x cannot be used: bad decrypt', phase: null } });
  assert.equal(classify(invalid, dc).outcome, 'credential_malformed');
});

test('nginx\'s 400 pages for a missing or refused client certificate are the client certificate outcomes', () => {
  const page = (title: string) => ({
    status: 400, contentType: 'text/html', headers: {}, message: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n</body></html>`,
    json: undefined, bodyBytes: 200, bodyTruncated: false,
  });
  const missing = classify(observation({ http: page('400 No required SSL certificate was sent') }), dc);
  assert.equal(missing.outcome, 'client_cert_required');
  assert.equal(missing.detail, 'the server requires a client certificate and none is configured (400 text/html: "400 No required SSL certificate was sent")');
  const refused = classify(observation({ http: page('400 The SSL certificate error'), clientCertificate: CLIENT }), dc);
  assert.equal(refused.outcome, 'client_cert_rejected');
  assert.equal(refused.detail, 'the server did not accept the client certificate O=acme, CN=salesforce-integration (400 text/html: "400 The SSL certificate error")');
  assert.equal(classify(observation({ http: page('400 Bad Request') }), dc).outcome, 'unexpected_response');
});
