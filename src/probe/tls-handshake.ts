// The TLS handshake on an open socket (direct or inside a proxy's tunnel). It runs with rejectUnauthorized off
// so the certificate can be read even when it fails verification (tls-verify.ts decides); with TLS 1.3 and a
// requested client certificate it also waits for the server's verdict on that certificate, so a rejected client
// never puts its credentials on the wire.
import net from 'node:net';
import tls from 'node:tls';
import { probeError } from './probe-error.js';

export interface HandshakeTarget {
  secureContext: tls.SecureContext;
  /** Name to verify the certificate against and to send as SNI (unless it is an IP address). */
  serverName: string;
}

/**
 * TLS 1.3: the client's handshake completes before the server has checked the client certificate it asked for;
 * the verdict (an alert, or the session tickets that follow acceptance) comes one round trip later. The request
 * waits for it this long at most, so a rejected client never puts its credentials on the wire.
 */
const CLIENT_CERT_VERDICT_MS = 2000;

export function handshake(
  socket: net.Socket,
  target: HandshakeTarget,
  timeoutMs: number,
): { promise: Promise<tls.TLSSocket>; secure: tls.TLSSocket } {
  const secure = tls.connect({
    socket,
    host: target.serverName,
    servername: net.isIP(target.serverName) ? undefined : target.serverName,
    secureContext: target.secureContext,
    rejectUnauthorized: false,
    ALPNProtocols: ['http/1.1'],
    // The name is checked in readTlsDetails, with the same tls.checkServerIdentity, on the leaf alone.
    checkServerIdentity: nameCheckedLater,
  });
  // Node's handshake code reads getPeerCertificate(true) (the detailed chain walk, ~200 µs) only to pass it to
  // checkServerIdentity: this socket's own method answers that one call with nothing and is removed at
  // 'secureConnect', before anything else reads the certificate.
  secure.getPeerCertificate = peerCertificateNotRead;
  let ticket = false;
  secure.once('session', () => (ticket = true));
  const promise = new Promise<tls.TLSSocket>((resolve, reject) => {
    secure.once('secureConnect', () => {
      Reflect.deleteProperty(secure, 'getPeerCertificate');
      if (secure.getProtocol() !== 'TLSv1.3' || !clientCertRequested(secure) || ticket) {
        secure.off('error', reject);
        resolve(secure);
        return;
      }
      let settled = false;
      const accepted = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        secure.off('error', rejected);
        resolve(secure);
      };
      const rejected = (error: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(error);
      };
      // Within the tls phase's own timeout: a server that sends no tickets is accepted, not timed out.
      const timer = setTimeout(accepted, Math.min(CLIENT_CERT_VERDICT_MS, timeoutMs / 2));
      secure.off('error', reject);
      secure.once('error', rejected);
      // Some servers (Node's, for one) check the certificate after the handshake and just close: no alert to read.
      const closed = (): void =>
        rejected(probeError('ERR_CLIENT_CERT_NOT_ACCEPTED', 'the server closed the connection right after the TLS handshake in which it asked for a client certificate, before anything was sent'));
      secure.once('end', closed);
      secure.once('close', closed);
      // Not from inside the 'session' event: that runs in OpenSSL's ticket callback, and a write made there is lost.
      secure.once('session', () => setImmediate(accepted));
    });
    secure.once('error', reject);
  });
  return { promise, secure };
}

const nameCheckedLater = (): undefined => undefined;
const peerCertificateNotRead = (() => ({})) as unknown as tls.TLSSocket['getPeerCertificate'];

/** On the client, OpenSSL fills the shared signature algorithms only from a CertificateRequest. */
export function clientCertRequested(socket: tls.TLSSocket): boolean {
  try {
    return socket.getSharedSigalgs().length > 0;
  } catch {
    return false;
  }
}
