// What each outcome means and what the integration's owner should do about it (docs/outcomes.md is generated from
// this). The text is data: one entry per outcome, with Cloud- and Data Center-specific wording where they differ;
// the entries live in outcome-text-transport.ts (before an HTTP answer) and outcome-text-http.ts (Jira's answers).
import type { Outcome } from './outcome-names.js';
import { TRANSPORT_OUTCOME_TEXT } from './outcome-text-transport.js';
import { HTTP_OUTCOME_TEXT } from './outcome-text-http.js';

export type DeploymentKind = 'cloud' | 'datacenter';

export interface OutcomeGuide {
  title: string;
  explanation: string;
  remediation: string[];
}

/** Text that is the same on both deployments, or differs per deployment. */
export type PerDeployment<T> = T | { cloud: T; datacenter: T };

export interface OutcomeText {
  title: string;
  explanation: PerDeployment<string>;
  remediation: PerDeployment<string[]>;
}

/** Every outcome exactly once: the compiler refuses a missing one, and `satisfies` in each part an unknown one. */
export const OUTCOME_TEXT: Record<Outcome, OutcomeText> = { ...TRANSPORT_OUTCOME_TEXT, ...HTTP_OUTCOME_TEXT };

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
