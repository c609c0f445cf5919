// What each outcome means and what the integration's owner should do about it (SPEC section 5).
// The text is data: one entry per outcome, with Cloud- and Data Center-specific wording where they differ.
import type { Outcome } from './outcome-names.js';

export type DeploymentKind = 'cloud' | 'datacenter';

export interface OutcomeGuide {
  title: string;
  explanation: string;
  remediation: string[];
}

/** Text that is the same on both deployments, or differs per deployment. */
type PerDeployment<T> = T | { cloud: T; datacenter: T };

interface OutcomeText {
  title: string;
  explanation: PerDeployment<string>;
  remediation: PerDeployment<string[]>;
}

const CLOUD_TOKEN_STEPS = [
  'Create a new API token at https://id.atlassian.com → Security → API tokens (signed in as the integration\'s account), give it an expiry date you will be reminded of, and put it in the integration and in authwatch (auth.expiresAt).',
];

const encodingStep = (pair: string) =>
  `If the integration builds the header itself, base64-encode exactly \`${pair}\` with no trailing newline (\`echo -n '${pair}' | base64\`, not plain \`echo\`); check the result with \`authwatch explain-header\`.`;

export const OUTCOME_TEXT: Record<Outcome, OutcomeText> = {
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
  basic_auth_rejected: {
    title: 'Basic auth rejected (password or token not accepted)',
    explanation: {
      cloud: 'Jira Cloud rejected the email/API token pair with "Basic authentication with passwords is deprecated" — its answer for a password, an expired or revoked token, or a token that does not belong to that email.',
      datacenter: 'Jira answered "Basic authentication with passwords is deprecated": this is Atlassian Cloud\'s answer, so the URL points at Cloud or a proxy to it, and Cloud does not accept a password.',
    },
    remediation: {
      cloud: [
        'Check the username is the account\'s email address (not a username or display name).',
        'Check the secret is an API token, not the account password.',
        'Check the token has not expired: since Dec 2024 API tokens expire at most a year after creation, and tokens created before then expired between 14 Mar and 12 May 2026. See the token list at id.atlassian.com → Security → API tokens.',
        'Check the token was not revoked, and that it was created by the same account whose email is the username.',
        ...CLOUD_TOKEN_STEPS,
        encodingStep('email:token'),
      ],
      datacenter: [
        'Check the connection\'s url and deployment: this answer comes from Atlassian Cloud. If it is Cloud, set `deployment: cloud` and use the account email with an API token.',
        ...CLOUD_TOKEN_STEPS,
        encodingStep('email:token'),
      ],
    },
  },
  scope_mismatch: {
    title: 'Token scope does not match',
    explanation: 'Jira accepted the token but it lacks a scope this request needs ("scope does not match").',
    remediation: {
      cloud: [
        'Scoped API tokens and service-account tokens only work on the gateway: use url https://api.atlassian.com/ex/jira/{cloudId}, not https://SITE.atlassian.net.',
        'Create a token that includes the scope needed (for /rest/api/3/myself: read:jira-user), then update the integration and authwatch.',
        'For OAuth apps, add the scope in the developer console and request it (`scope` in the config).',
      ],
      datacenter: [
        'The token\'s scopes do not cover this request: issue a token (or OAuth client) with read access to the user profile and update the integration and authwatch.',
      ],
    },
  },
  auth_rejected: {
    title: 'Authentication rejected (401)',
    explanation: {
      cloud: 'Jira Cloud answered 401: the credentials were not accepted or not usable here (e.g. "Client must be authenticated to access this resource.").',
      datacenter: 'Jira answered 401: the username/password or personal access token was not accepted (X-Seraph-LoginReason AUTHENTICATED_FAILED means it was checked and wrong).',
    },
    remediation: {
      cloud: [
        'Check which scheme is sent: Cloud API tokens go in `Basic base64(email:token)`, never `Bearer` (run `authwatch explain-header`).',
        'A scoped API token or OAuth/service-account token is rejected on *.atlassian.net: use https://api.atlassian.com/ex/jira/{cloudId} as url.',
        'Check the token has not expired or been revoked (id.atlassian.com → Security → API tokens); since Dec 2024 tokens expire at most a year after creation.',
        ...CLOUD_TOKEN_STEPS,
      ],
      datacenter: [
        'Check the username (not the email) and the password; for a personal access token, check it has not expired or been revoked (Profile → Personal Access Tokens) and that it is sent as `Bearer`, not as a Basic password.',
        'Check that the account is active and not removed from the directory (LDAP/Crowd sync).',
        'Warning: every failed password attempt counts toward CAPTCHA lockout — fix the credential before the integration locks the account. Prefer a personal access token for integrations.',
      ],
    },
  },
  captcha_required: {
    title: 'Account locked behind CAPTCHA',
    explanation: 'After too many failed logins Jira demands a CAPTCHA for this account and rejects every API login — even with the right password — until someone clears it.',
    remediation: {
      cloud: [
        'Log in once through the browser as this account to solve the CAPTCHA.',
        'Find what was sending wrong credentials (often the integration itself after a password change) and fix it first, or the lockout returns.',
        'Use an API token (email:token) instead of a password: tokens are not subject to CAPTCHA.',
      ],
      datacenter: [
        'Log in through the browser as this account and solve the CAPTCHA, or have a Jira admin reset the failed-login count (User management → the user → Reset failed login count).',
        'Find and fix whatever kept sending the wrong password (the integration, an old script) before clearing it, or the lockout returns.',
        'Switch the integration to a personal access token (Bearer): PATs are not subject to CAPTCHA.',
      ],
    },
  },
  basic_auth_disabled: {
    title: 'Basic auth disabled on this instance',
    explanation: 'A Jira admin has disabled basic authentication (username/password) for the REST API on this instance.',
    remediation: {
      cloud: [
        'Use the account email with an API token (Basic email:token), or OAuth 2.0.',
      ],
      datacenter: [
        'Switch the integration to a personal access token (`auth.type: bearer`): create it under Profile → Personal Access Tokens as the integration\'s user.',
        'If the integration cannot send tokens, ask the Jira admin to exempt this account in Jira\'s basic authentication settings (the list of users still allowed to use basic auth).',
      ],
    },
  },
  forbidden: {
    title: 'Forbidden (403)',
    explanation: 'Jira recognised the request but refused it: the account lacks permission, or something in front of Jira (WAF, IP allow-list) blocked it.',
    remediation: {
      cloud: [
        'Check the account still has product access to Jira (admin.atlassian.com → Users → the account → product access).',
        'If the organisation uses an IP allow-list, add the authwatch host\'s egress IP (admin.atlassian.com → Security → IP allowlists).',
        'Read the server message in the detail: it usually names the missing permission.',
      ],
      datacenter: [
        'Check the account is active and in a group that has application access (Administration → Applications → Application access); an account without a licence gets 403.',
        'Check reverse proxy or WAF rules in front of Jira for this client\'s IP.',
        'Read the server message in the detail: it usually names the missing permission.',
      ],
    },
  },
  anonymous: {
    title: 'Credentials ignored (anonymous)',
    explanation: 'Jira answered successfully but as the anonymous user: the credentials were not used (expired or wrong credentials on an endpoint that allows anonymous access, or stripped on the way).',
    remediation: {
      cloud: [
        'An expired or revoked API token makes Cloud serve the request anonymously (X-Seraph-LoginReason: AUTHENTICATED_FAILED): create a new token at id.atlassian.com → Security → API tokens.',
        'Check that a proxy between the integration and Jira does not strip the Authorization header.',
        'Probe /rest/api/3/myself (the default path), which is never served anonymously.',
      ],
      datacenter: [
        'Check the username/password or personal access token (X-Seraph-LoginReason: AUTHENTICATED_FAILED means it was checked and wrong).',
        'Check that the reverse proxy forwards the Authorization header to Jira.',
        'Probe /rest/api/2/myself (the default path), which is never served anonymously.',
      ],
    },
  },
  identity_mismatch: {
    title: 'Authenticated as someone else',
    explanation: 'The credentials work but belong to a different account than `expect` says: the integration acts as the wrong user.',
    remediation: [
      'Compare the account in the detail with the connection\'s `expect`: if the integration was deliberately moved to another account, update `expect`.',
      'Otherwise replace the credential with one belonging to the expected account (someone may have pasted their personal token).',
      'On Cloud, prefer `expect: { accountId: … }`: email addresses can be hidden by profile visibility settings.',
    ],
  },
  redirected: {
    title: 'Redirected',
    explanation: 'Jira answered with a redirect instead of the API response, typically to an SSO identity provider or login page; authwatch never follows redirects with credentials.',
    remediation: {
      cloud: [
        'Check the url: use the canonical https://SITE.atlassian.net (no trailing path, no http://); a renamed site redirects to its new name.',
        'A redirect to an identity provider means the request was not authenticated by the API token: check the token and that the account is not forced through SSO for API access.',
      ],
      datacenter: [
        'Check the url: use the canonical base URL with the right scheme and context path (e.g. https://jira.example.com/jira).',
        'A redirect to an IdP or login.jsp means an SSO proxy/plugin intercepted the API call: exempt /rest/ from SSO redirects or have the integration use a personal access token that the SSO setup accepts.',
      ],
    },
  },
  login_page: {
    title: 'Login page instead of API',
    explanation: 'An HTML page answered where Jira\'s JSON API was expected: an SSO proxy or login page is in front of the API.',
    remediation: {
      cloud: [
        'Check the url is the Jira site (https://SITE.atlassian.net) and not a company portal or proxy.',
        'If a corporate proxy intercepts outbound traffic, exempt *.atlassian.net or configure it to pass API requests through.',
      ],
      datacenter: [
        'Configure the SSO proxy or plugin to let /rest/ requests with an Authorization header through to Jira.',
        'Check the url\'s context path: a wrong one can land on a web page instead of the API.',
      ],
    },
  },
  rate_limited: {
    title: 'Rate limited (429)',
    explanation: 'Jira refused the request because a rate limit was hit; the detail shows Retry-After and the reason.',
    remediation: {
      cloud: [
        'RateLimit-Reason says which quota: jira-burst-based (short bursts), jira-quota-tenant-based / jira-quota-global-based (sustained load), jira-per-issue-on-write.',
        'Find which integration on the same account or site is making most requests and slow it down; honour Retry-After.',
        'Probe this connection less often (a larger `schedule` interval) if authwatch\'s own probes count noticeably.',
      ],
      datacenter: [
        'A Jira admin has rate limiting enabled (System → Rate limiting): check the limits for this account or grant it an exemption.',
        'Find what else uses this account heavily and spread the load; honour Retry-After.',
      ],
    },
  },
  server_error: {
    title: 'Server error (5xx)',
    explanation: 'Jira or something in front of it failed to handle the request; this says nothing about the credentials.',
    remediation: {
      cloud: [
        'Check https://status.atlassian.com for an incident; keep the ATL-TraceId from the probe history for Atlassian support.',
        'If it persists for this site only, open a support ticket with the trace ID and time.',
      ],
      datacenter: [
        'Check Jira\'s application log (atlassian-jira.log) and the reverse proxy\'s log at the probe time.',
        '502/503/504 usually come from the proxy or load balancer: check that Jira nodes are up and healthy behind it.',
      ],
    },
  },
  not_found: {
    title: 'Not found (404)',
    explanation: 'The API path does not exist at this URL: usually a wrong base URL or a missing context path.',
    remediation: {
      cloud: [
        'Use the site\'s base URL, https://SITE.atlassian.net, without a path; or https://api.atlassian.com/ex/jira/{cloudId} with the right cloudId for scoped tokens and OAuth.',
        'If `path` is overridden, check it (default /rest/api/3/myself).',
      ],
      datacenter: [
        'Include Jira\'s context path in the url if it has one (e.g. https://host/jira) — compare with the Base URL in Jira\'s General configuration.',
        'If `path` is overridden, check it (default /rest/api/2/myself).',
      ],
    },
  },
  unexpected_response: {
    title: 'Unexpected response',
    explanation: 'The answer did not look like Jira\'s /myself API (another status, or a body that is not the JSON expected).',
    remediation: [
      'Open the probed URL with the same credentials (`curl -i -H "Authorization: …" URL`) and compare with the detail.',
      'Check that url points at Jira itself and not at a proxy, portal or another application, and that `path` is Jira\'s myself endpoint.',
      'A 407 means an outbound proxy wants its own authentication.',
    ],
  },
  ok: {
    title: 'OK',
    explanation: 'Authenticated as the expected account.',
    remediation: {
      cloud: [
        'Nothing to fix. Keep `auth.expiresAt` set to the API token\'s expiry date so authwatch warns before it expires.',
      ],
      datacenter: [
        'Nothing to fix. If the integration uses a personal access token with an expiry date, set `auth.expiresAt` so authwatch warns before it expires.',
      ],
    },
  },
};

export function describeOutcome(outcome: Outcome, deployment: DeploymentKind): OutcomeGuide {
  const text = OUTCOME_TEXT[outcome];
  return {
    title: text.title,
    explanation: pick(text.explanation, deployment),
    remediation: [...pick(text.remediation, deployment)],
  };
}

function pick<T>(value: PerDeployment<T>, deployment: DeploymentKind): T {
  if (typeof value === 'object' && value !== null && 'cloud' in value && 'datacenter' in value) return value[deployment];
  return value as T;
}
