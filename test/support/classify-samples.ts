// Hand-built observations of the proxy and client-certificate paths, shaped like what squid and OpenSSL report;
// shared by the classifier's unit tests.
import type { ClassifyContext } from '../../src/diagnosis/types.js';
import type { ClientCertificateObservation, ProbeObservation, ProxyObservation, TlsDetails } from '../../src/probe/observation.js';

export const dc: ClassifyContext = { deployment: 'datacenter', authType: 'bearer', expect: null };

export const PROXY: ProxyObservation = {
  url: 'http://proxy.corp:3128', source: 'config', credentials: false, tunnel: false, status: null, contentType: null, headers: {}, message: '', connect: 0.001, tunnel_seconds: null,
};
export const CLIENT: ClientCertificateObservation = {
  configured: true, requested: true, subject: 'O=acme, CN=salesforce-integration', issuer: 'O=acme, CN=acme client CA', notAfter: '2027-01-01T00:00:00.000Z', fingerprint256: 'AA:BB',
};
export const INTERCEPTED_TLS: TlsDetails = {
  protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', subject: 'CN=jira.acme.com', issuer: 'O=Acme Corp, CN=Acme Inspection CA', sans: ['DNS:jira.acme.com'],
  serial: '01', fingerprint256: 'CC:DD', notBefore: null, notAfter: '2027-01-01T00:00:00.000Z', chainEarliestNotAfter: null, authorized: false,
  authorizationError: 'SELF_SIGNED_CERT_IN_CHAIN',
};

export function observation(overrides: Partial<ProbeObservation>): ProbeObservation {
  return {
    connection: 'dc', startedAt: '2026-03-01T12:00:00.000Z', url: 'https://jira.acme.com/rest/api/2/myself',
    credential: { status: 'ok', problem: null, fingerprint: '0123456789abcdef', findings: [] },
    oauth: null, error: null, http: null, identity: null, tls: null,
    timings: { dns: 0.01, connect: 0.02, tls: null, request: null, first_byte: null, download: null, total: 0.03 },
    ...overrides,
  };
}

export const alert = (number: number, reason: string) =>
  `C0B7:error:0A000418:SSL routines:ssl3_read_bytes:${reason}:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:918:SSL alert number ${number}`;

export const refusedProxy = observation({ proxy: PROXY, error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:3128', phase: null } });
export const proxy407 = observation({
  proxy: { ...PROXY, status: 407, contentType: 'text/html', headers: { 'proxy-authenticate': 'Basic realm="corp"' } },
  error: { code: 'ERR_PROXY_CONNECT', message: 'the proxy answered CONNECT with 407', phase: null },
});
export const blockPage = observation({
  proxy: { ...PROXY, status: 403, contentType: 'text/html;charset=utf-8', headers: { 'x-squid-error': 'ERR_ACCESS_DENIED 0' }, message: '<html><head><title>ERROR: The requested URL could not be retrieved</title></head></html>' },
  error: { code: 'ERR_PROXY_CONNECT', message: 'the proxy answered CONNECT with 403', phase: null },
});
export const intercepted = observation({
  proxy: { ...PROXY, tunnel: true, status: 200 }, tls: INTERCEPTED_TLS,
  error: { code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'certificate verification failed (SELF_SIGNED_CERT_IN_CHAIN); nothing was sent', phase: null },
});
export const noClientCert = observation({
  clientCertificate: { ...CLIENT, configured: false, subject: null, issuer: null, notAfter: null, fingerprint256: null },
  error: { code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', message: alert(116, 'tlsv13 alert certificate required'), phase: null },
});
export const unknownCa = observation({ clientCertificate: CLIENT, error: { code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', message: alert(48, 'tlsv1 alert unknown ca'), phase: null } });

export const PROXY_AND_CLIENT_CERT_SAMPLES: ProbeObservation[] = [refusedProxy, proxy407, blockPage, intercepted, noClientCert, unknownCa];

