import type { Outcome, OutcomeClass } from './outcome-names.js';
import type { AuthType } from '../config/schema.js';
import type { Deployment } from '../config/load.js';

/** What the classifier needs to know about the connection besides what the probe saw. */
export interface ClassifyContext {
  deployment: Deployment;
  authType: AuthType;
  expect: { accountId?: string; username?: string; email?: string } | null;
  /** tls.serverName: the name the certificate was checked against, when it is not the URL's host. */
  serverName?: string | null;
}

/** The classifier's verdict for one probe. */
export interface Diagnosis {
  outcome: Outcome;
  class: OutcomeClass;
  /** One line, specific to this probe, no secrets: e.g. `401 text/plain "Basic authentication with passwords is deprecated"`. */
  detail: string;
}
