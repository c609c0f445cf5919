// Outcome texts for Jira's answers: auth refused, forbidden, anonymous, redirected, rate limited, server errors, ok.
import type { Outcome } from './outcome-names.js';
import type { OutcomeText } from './outcomes.js';

const CLOUD_TOKEN_STEPS = [
  'Create a new API token at https://id.atlassian.com → Security → API tokens (signed in as the integration\'s account), give it an expiry date you will be reminded of, and put it in the integration and in authwatch (auth.expiresAt).',
];

const encodingStep = (pair: string) =>
  `If the integration builds the header itself, base64-encode exactly \`${pair}\` with no trailing newline (\`echo -n '${pair}' | base64\`, not plain \`echo\`); check the result with \`authwatch explain-header\`.`;

export const HTTP_OUTCOME_TEXT = {
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
} satisfies Partial<Record<Outcome, OutcomeText>>;
