// Test certificates are made with the openssl CLI at test time; the generator lives in src/demo because
// `authwatch demo` serves them too.
export { createTestPki, LOOPBACK_SANS, type CertificatePair, type IssueOptions, type Pki } from '../../src/demo/pki.js';
