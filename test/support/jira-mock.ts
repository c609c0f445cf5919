// The tests' Jira: the demo's simulated Jira (src/demo/simulated-jira.ts) plus the behaviours only tests use —
// the rest of real Jira's failure answers, and the hostile ones (hangs, trickling and huge bodies, markup).
import { randomBytes } from 'node:crypto';
import {
  DEMO_JIRA_BEHAVIOURS,
  SimulatedJira,
  type BehaviourContext,
  type BehaviourHandler,
  type DemoJiraBehaviour,
  type JiraUser,
  type SimulatedJiraOptions,
  type TenantOptions as DemoTenantOptions,
} from '../../src/demo/simulated-jira.js';

export * from '../../src/demo/simulated-jira.js';

export const TEST_JIRA_BEHAVIOURS = [
  /** 200 that ran as anonymous: X-Seraph-LoginReason AUTHENTICATED_FAILED and an `_lout` xsrf cookie (Cloud, expired token). */
  'expired-token-anonymous',
  /** 200 with X-AUSERNAME: anonymous and no identity (DC with the credentials ignored). */
  'anonymous-dc',
  /** 403 CAPTCHA_CHALLENGE / AUTHENTICATION_DENIED, whatever the credentials. */
  'captcha',
  /** Any other 403 (the account may not use Jira). */
  'forbidden',
  /** 200 text/html login page from an SSO proxy. */
  'login-page',
  /** 429 with the deployment's rate-limit headers. */
  'rate-limited',
  /** Cloud: 503 with Retry-After; DC: 500 HTML. */
  'server-error',
  /** 404 (wrong base URL or context path). */
  'not-found',
  /** 200 application/json whose body is not valid JSON. */
  'malformed-json',
  /** 418 text/plain. */
  'teapot',
  /** 200 as a different account than the credentials belong to. */
  'wrong-identity',
  /** Accepts the request and never answers. */
  'hang',
  /** Sends the headers and a first chunk, then one byte at a time, forever. */
  'slow-body',
  /** 200 application/json with a body of `hugeBodyBytes` (64 MiB by default), written as the client reads it. */
  'huge-body',
  /** 302 to the same URL. */
  'redirect-loop',
  /** 500 text/html whose body carries markup and a script (what a status page must show as text, never run). */
  'hostile-message',
] as const;
export type TestJiraBehaviour = (typeof TEST_JIRA_BEHAVIOURS)[number];
export type JiraBehaviour = DemoJiraBehaviour | TestJiraBehaviour;
export const JIRA_BEHAVIOURS: readonly JiraBehaviour[] = [...DEMO_JIRA_BEHAVIOURS, ...TEST_JIRA_BEHAVIOURS];
export type TenantOptions = DemoTenantOptions<JiraBehaviour>;

/** The body of 'hostile-message': if a page ran it, window.pwned would be set and a request would go to /pwned. */
export const HOSTILE_MESSAGE =
  '<h1>Down for maintenance</h1><script>window.pwned = "server message"; fetch("/pwned?from=message");</script><img src="/pwned.png" onerror="window.pwned = \'img\'">';

const MIB = 1024 * 1024;

const OTHER_USER: JiraUser = {
  accountId: '557058:f0e1d2c3-b4a5-4968-8776-655443322110',
  name: 'jdoe',
  key: 'JIRAUSER10999',
  emailAddress: 'jane.doe@example.com',
  displayName: 'Jane Doe',
  active: true,
};

export interface JiraMockOptions extends Omit<SimulatedJiraOptions<JiraBehaviour>, 'behaviours'> {
  hugeBodyBytes?: number;
  slowBodyIntervalMs?: number;
}

export class JiraMock extends SimulatedJira<JiraBehaviour> {
  constructor(options: JiraMockOptions) {
    super({ ...options, behaviours: testBehaviours(options) });
  }
}

function testBehaviours(options: JiraMockOptions): Record<TestJiraBehaviour, BehaviourHandler> {
  return {
    'expired-token-anonymous': ({ build, serverInfo }) =>
      build.json(200, serverInfo, {
        'X-Seraph-LoginReason': 'AUTHENTICATED_FAILED',
        'Set-Cookie': `atlassian.xsrf.token=${randomBytes(20).toString('hex')}_lout; Path=/; Secure; SameSite=None`,
      }),
    'anonymous-dc': ({ build, serverInfo }) => build.json(200, serverInfo, { 'X-AUSERNAME': 'anonymous' }),
    captcha: ({ captcha }) => captcha(),
    forbidden: ({ build, deployment, tenantUser }) =>
      build.json(403, { errorMessages: ['You do not have the permission to see the specified resource.'], errors: {} }, deployment === 'cloud' ? {} : { 'X-AUSERNAME': tenantUser.name }),
    'login-page': ({ build, base }) =>
      build.html(
        200,
        `<!DOCTYPE html><html><head><title>Log in - Jira</title></head><body><form id="login-form" method="post" action="${base}/login.jsp"><input name="os_username"><input name="os_password" type="password"></form></body></html>`,
      ),
    'rate-limited': ({ build, deployment }) =>
      deployment === 'cloud'
        ? build.json(429, { message: 'Rate limit exceeded.' }, {
            'Retry-After': '30',
            'RateLimit-Reason': 'jira-quota-tenant-based',
            'X-RateLimit-Limit': '350',
            'X-RateLimit-Remaining': '0',
            'X-RateLimit-Reset': new Date(Date.now() + 30_000).toISOString(),
            'X-RateLimit-NearLimit': 'true',
          })
        : build.text(429, 'text/plain;charset=UTF-8', 'Too many requests. Try again later.', {
            'Retry-After': '10',
            'X-RateLimit-Limit': '100',
            'X-RateLimit-Remaining': '0',
            'X-RateLimit-Interval-Seconds': '60',
            'X-RateLimit-FillRate': '10',
          }),
    'server-error': ({ build, deployment }) =>
      deployment === 'cloud'
        ? build.json(503, { message: 'Service Unavailable', 'status-code': 503 }, { 'Retry-After': '60' })
        : build.html(500, '<html><head><title>Oops, you\'ve found a dead link. - Jira</title></head><body><h1>System Error</h1><p>java.lang.NullPointerException</p></body></html>'),
    'not-found': ({ notFound }) => notFound(),
    'malformed-json': ({ build, base }) => build.text(200, 'application/json;charset=UTF-8', `{"self":"${base}/rest/api/3/user","accountId":`),
    teapot: ({ build }) => build.text(418, 'text/plain', "I'm a teapot"),
    'hostile-message': ({ build }) => build.html(500, HOSTILE_MESSAGE),
    'wrong-identity': ({ authenticatedAs }) => authenticatedAs(OTHER_USER),
    'redirect-loop': ({ build, base, record }) => build.html(302, '', { Location: `${base}${record.path}` }),
    hang: () => 'answered', // never answers; stop() closes the socket
    'slow-body': (context) => trickle(context, options.slowBodyIntervalMs ?? 200),
    'huge-body': (context) => hugeBody(context, options.hugeBodyBytes ?? 64 * MIB),
  };
}

function trickle({ response, record, build, every }: BehaviourContext, intervalMs: number): 'answered' {
  response.writeHead(200, { ...build.common, 'Content-Type': 'application/json;charset=UTF-8' });
  record.status = 200;
  response.write('{"self":"');
  record.bodyBytesSent = 9;
  every(intervalMs, () => {
    response.write('.');
    record.bodyBytesSent += 1;
  });
  return 'answered';
}

function hugeBody({ response, record, build }: BehaviourContext, total: number): 'answered' {
  response.writeHead(200, { ...build.common, 'Content-Type': 'application/json;charset=UTF-8', 'Content-Length': String(total) });
  record.status = 200;
  const filler = Buffer.alloc(64 * 1024, 'x');
  const first = Buffer.from(filler);
  first.write('{"padding":"');
  let closed = false;
  response.on('close', () => {
    closed = true;
  });
  // Writes only as fast as the client reads, so the bytes sent show how much the client accepted.
  const pump = (): void => {
    while (!closed && record.bodyBytesSent < total) {
      const size = Math.min(filler.length, total - record.bodyBytesSent);
      const piece = (record.bodyBytesSent === 0 ? first : filler).subarray(0, size);
      record.bodyBytesSent += size;
      if (record.bodyBytesSent >= total) {
        response.end(piece, () => {
          record.completed = true;
        });
        return;
      }
      if (!response.write(piece)) {
        response.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return 'answered';
}
