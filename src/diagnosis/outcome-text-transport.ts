// Outcome texts for what fails before Jira answers: the credential, local files, the proxy, DNS, TCP, TLS, the token endpoint.
import type { Outcome } from './outcome-names.js';
import type { OutcomeText } from './outcomes.js';

export const TRANSPORT_OUTCOME_TEXT = {
  credential_missing: {
    title: 'Credential missing',
    explanation: 'authwatch could not read the secret for this connection (environment variable unset, file unreadable or empty), so nothing was sent.',
    remediation: [
      'Check the `secret` reference in the config: the environment variable must be set for the authwatch process, or the file must exist and be readable by the service user.',
      'Under systemd, secrets given with LoadCredential= appear in $CREDENTIALS_DIRECTORY (/run/credentials/authwatch.service/NAME); check the unit file and `systemctl show authwatch -p LoadCredential`.',
      'If the integration\'s own secret store was emptied, the integration is failing too: restore the secret there first.',
    ],
  },
  credential_malformed: {
    title: 'Credential malformed',
    explanation: 'The secret or header contains whitespace or control characters, or the Authorization header fails the lint, so authwatch did not send it: Jira would reject it.',
    remediation: [
      'Look at the detail: it names the problem and its position without showing the secret.',
      'Remove the stray newline, carriage return, tab or space from the stored secret (a secret file may end with one newline; nothing else).',
      'For auth.type header, run `authwatch explain-header` on the header value to see each finding and how to fix it.',
      'If the integration stores the same value, fix it there too: it is sending the same broken credential.',
    ],
  },
  tls_file_unreadable: {
    title: 'TLS file of the config unreadable',
    explanation: 'authwatch cannot read a TLS file its own config names (tls.caFile), so it did not connect: a problem on the authwatch host, not in Jira.',
    remediation: [
      'Check the path in the connection\'s (or the defaults\') tls.caFile: the detail names the file and the error (ENOENT: it does not exist; EACCES: the service user may not read it).',
      'Make the file readable by the user authwatch runs as (under systemd, the unit\'s User=, or DynamicUser=: put it under /etc/authwatch or load it with LoadCredential=).',
      'A renewed CA file is read again on the next probe; `systemctl reload authwatch` (SIGHUP) also re-reads it.',
    ],
  },
  proxy_unreachable: {
    title: 'Proxy unreachable',
    explanation: 'The HTTP proxy this connection goes through (configured, or HTTPS_PROXY) could not be reached: its name did not resolve, or it refused or dropped the connection before answering the CONNECT. Jira was not asked.',
    remediation: [
      'Check the proxy URL in the detail: `proxy.url` in the config, or HTTPS_PROXY / https_proxy in the environment of the authwatch process (the detail says which).',
      'Check that the proxy is running and reachable from the authwatch host on that port (`curl -v -x http://PROXY:PORT https://JIRA`).',
      'If this connection should not use the environment\'s proxy, add its host to NO_PROXY or set `proxy: none` on it.',
    ],
  },
  proxy_auth_required: {
    title: 'Proxy authentication required',
    explanation: 'The proxy answered the CONNECT with 407 Proxy Authentication Required: it wants credentials that were not sent, or refused the ones sent. Jira was not asked.',
    remediation: [
      'If no proxy credentials are configured, add `proxy.auth: { username, secret }` to the connection (or to `defaults`); the detail shows the scheme the proxy asks for (Proxy-Authenticate).',
      'If they are configured, the proxy refused them: check the username and the secret with the proxy\'s administrators (passwords of proxy accounts are often rotated with the user\'s login password).',
      'authwatch sends only Basic proxy authentication; a proxy that accepts only Negotiate/NTLM needs an allow-list entry for the authwatch host instead.',
    ],
  },
  proxy_tunnel_failed: {
    title: 'Proxy refused the tunnel',
    explanation: 'The proxy answered the CONNECT with an error (403, 502, 503…) or a block page instead of opening the tunnel to Jira, so nothing was sent to Jira.',
    remediation: {
      cloud: [
        'A 403 or an HTML block page means the proxy\'s policy forbids the destination: ask for *.atlassian.net (and api.atlassian.com) on port 443 to be allowed for the authwatch host — the integration needs the same.',
        'A 502/503/504 means the proxy could not reach Atlassian itself (its DNS or its own upstream): the detail carries the proxy\'s error (e.g. X-Squid-Error); check https://status.atlassian.com and the proxy\'s logs.',
      ],
      datacenter: [
        'A 403 or an HTML block page means the proxy\'s policy forbids the destination: ask for the Jira host and port to be allowed through the proxy (many proxies allow CONNECT only to port 443).',
        'A 502/503/504 means the proxy could not resolve or reach Jira: the detail carries its error (e.g. X-Squid-Error: ERR_DNS_FAIL); check Jira is up and the proxy can route to it, or exempt the host with NO_PROXY / `proxy: none` if it is reachable directly.',
      ],
    },
  },
  dns_error: {
    title: 'DNS lookup failed',
    explanation: 'The Jira host name does not resolve from where authwatch runs, so no connection was made.',
    remediation: [
      'Check the connection\'s url for a typo in the host name.',
      'Resolve it from the authwatch host (`getent hosts HOST`) and check /etc/resolv.conf or systemd-resolved; a temporary failure (EAI_AGAIN) points at the DNS server.',
    ],
  },
  connect_error: {
    title: 'Connection failed',
    explanation: 'The TCP connection to Jira was refused, unreachable or reset before any HTTP response.',
    remediation: {
      cloud: [
        'Check outbound network access from the authwatch host to *.atlassian.net on port 443 (firewall, egress proxy, security group).',
        'If the company restricts egress to an allow-list, add Atlassian\'s published IP ranges (https://ip-ranges.atlassian.com).',
        'Check https://status.atlassian.com for an ongoing incident.',
      ],
      datacenter: [
        'Check that Jira (or the load balancer / reverse proxy in front of it) is running and listening on the URL\'s host and port.',
        'Check firewalls between the authwatch host and Jira (`curl -v URL` from the authwatch host).',
        'A reset right after connecting often means a proxy or load balancer dropped the connection: check its logs.',
      ],
    },
  },
  timeout: {
    title: 'Timed out',
    explanation: 'Jira did not answer in time; the detail says in which phase (dns, connect, tls, first_byte, download) the probe ran out.',
    remediation: {
      cloud: [
        'A timeout in dns/connect/tls points at the network path from the authwatch host (egress proxy, firewall dropping packets).',
        'A timeout waiting for the first byte means Atlassian answered slowly: check https://status.atlassian.com; raise `timeout` for this connection if it is routinely close to the limit.',
      ],
      datacenter: [
        'A timeout in dns/connect/tls points at the network path or a firewall silently dropping packets.',
        'A timeout waiting for the first byte means Jira is overloaded or stuck: check its CPU, garbage collection and database connections, and the reverse proxy\'s upstream timeouts.',
        'Raise `timeout` for this connection only if Jira is known to be slow but healthy.',
      ],
    },
  },
  client_cert_required: {
    title: 'Client certificate required',
    explanation: 'The server asked for a client certificate (mutual TLS) and refused the handshake without one; none is configured for this connection, so no HTTP request was made.',
    remediation: [
      'Configure the certificate the integration uses: `tls: { certFile, keyFile, passphrase }` on the connection (PEM files; the passphrase is a secret reference).',
      'If the integration does not use one either, it is failing the same way: ask whoever runs the server (or the load balancer in front of it) which CA issues client certificates for integrations.',
    ],
  },
  client_cert_rejected: {
    title: 'Client certificate rejected',
    explanation: 'The server refused the client certificate that was sent (TLS alert bad_certificate, unknown_ca, certificate_expired, certificate_revoked…), so no HTTP request was made; the detail names the alert and the certificate.',
    remediation: [
      'certificate_expired: renew the client certificate (`authwatch_tls_client_cert_not_after_timestamp_seconds` shows when it expires) and replace tls.certFile/keyFile; the integration\'s copy expires at the same time.',
      'unknown_ca: the server does not trust the certificate\'s issuer — use a certificate issued by the CA the server is configured to accept, or ask for that CA to be added on the server.',
      'bad_certificate / certificate_unknown / certificate_revoked: check that certFile holds the full chain the server needs and that the certificate has not been revoked; `openssl s_client -connect HOST:443 -cert CERT -key KEY` shows the server\'s view.',
    ],
  },
  tls_handshake_failed: {
    title: 'TLS handshake failed',
    explanation: 'Client and server could not agree on a TLS protocol version or cipher, so no HTTP request was made.',
    remediation: {
      cloud: [
        'Atlassian Cloud only accepts TLS 1.2 and newer (TLS 1.0/1.1 were removed in 2018): the client must speak TLS 1.2+ with a modern cipher suite.',
        'If a TLS-inspecting proxy sits in between, check that it offers TLS 1.2+ to both sides.',
        'Check the connection\'s `tls.minVersion` is not set higher than the server supports.',
      ],
      datacenter: [
        'The client must speak TLS 1.2 or newer; if the server (or its load balancer) still offers only TLS 1.0/1.1, upgrade its TLS configuration — do not lower authwatch\'s minVersion except to confirm the diagnosis.',
        'Check the connection\'s `tls.minVersion` and the server\'s enabled protocols and ciphers (`openssl s_client -connect HOST:443 -tls1_2`).',
        'Integrations on old Java or .NET runtimes fail the same way: upgrade them to a runtime with TLS 1.2 enabled.',
      ],
    },
  },
  tls_intercepted: {
    title: 'TLS intercepted by a proxy',
    explanation: 'Through the proxy, the certificate presented for Jira was issued by a CA authwatch does not trust — the signature of a TLS-inspecting proxy replacing the server\'s certificate with one of its own. The detail names that issuer; the credentials were not sent.',
    remediation: {
      cloud: [
        'Ask for *.atlassian.net and api.atlassian.com to be exempted from TLS inspection (Atlassian\'s clients are better served unmodified, and credentials then stay end-to-end).',
        'If inspection is company policy, trust the proxy\'s CA: put its certificate (the issuer named in the detail) in a PEM file and point `tls.caFile` at it — the integration needs the same CA in its trust store.',
      ],
      datacenter: [
        'Ask for the Jira host to be exempted from TLS inspection, or reach it directly (NO_PROXY / `proxy: none`) if it is on the internal network.',
        'If inspection is company policy, trust the proxy\'s CA with `tls.caFile` (the issuer named in the detail) — the integration needs the same CA in its trust store.',
      ],
    },
  },
  tls_cert_invalid: {
    title: 'Certificate rejected',
    explanation: 'The server\'s certificate failed verification (expired, not yet valid, untrusted issuer, self-signed, or not valid for this host name), so the credentials were not sent.',
    remediation: {
      cloud: [
        'Atlassian Cloud certificates are publicly trusted: a rejected certificate usually means a TLS-inspecting proxy replaced it. Add the proxy\'s CA with `tls.caFile`, or exempt *.atlassian.net from inspection.',
        'Check that the authwatch host\'s clock is correct (a wrong clock makes valid certificates look expired or not yet valid).',
      ],
      datacenter: [
        'Expired or not yet valid: renew the certificate on Jira or its reverse proxy, and install the full chain.',
        'Untrusted or self-signed: point the connection\'s `tls.caFile` at the company CA that issued it — never turn verification off.',
        'Host name mismatch: use the host name the certificate was issued for in `url`, or reissue the certificate with that name in its subjectAltName.',
        'Check that the authwatch host\'s clock is correct.',
      ],
    },
  },
  oauth_token_error: {
    title: 'OAuth token request failed',
    explanation: 'The OAuth 2.0 token endpoint refused the client credentials or failed, so there was no access token to send to Jira.',
    remediation: {
      cloud: [
        'Check clientId and clientSecret of the OAuth 2.0 (service account) credential in admin.atlassian.com; a rotated or revoked secret answers invalid_client.',
        'Check `tokenUrl` (https://auth.atlassian.com/oauth/token) and `audience`/`scope`: a scope the credential was not granted answers invalid_scope.',
        'Client-credentials access tokens only work against the gateway https://api.atlassian.com/ex/jira/{cloudId}, not *.atlassian.net.',
      ],
      datacenter: [
        'Check the client ID and secret of the incoming OAuth 2.0 application link in Jira administration; a regenerated secret answers invalid_client.',
        'Check `tokenUrl` points at the identity provider or Jira\'s /rest/oauth2/latest/token, and the requested scope is allowed for the client.',
      ],
    },
  },
} satisfies Partial<Record<Outcome, OutcomeText>>;
