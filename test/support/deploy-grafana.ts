// Reading the PromQL out of grafana/dashboards/*.json the way Grafana runs it: template variables substituted.
// Used to check the queries parse (deploy-grafana.test.ts) and, end to end, that they return data.

export interface GrafanaTarget {
  refId: string;
  expr?: string;
  instant?: boolean;
  format?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaPanel {
  id: number;
  type: string;
  title: string;
  maxDataPoints?: number;
  interval?: string;
  datasource?: { type?: string; uid?: string };
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  gridPos: { x: number; y: number; w: number; h: number };
}

export interface GrafanaVariable {
  name: string;
  type: string;
  query?: unknown;
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  allValue?: string;
  datasource?: { type?: string; uid?: string };
}

export interface GrafanaDashboard {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
}

export interface DashboardQuery {
  panel: string;
  panelType: string;
  refId: string;
  instant: boolean;
  /** As written in the dashboard. */
  expr: string;
  /** With the variables substituted: what Prometheus receives. */
  query: string;
}

/**
 * What Grafana puts in place of the variables for a query: `connection` is the connection picked for the drill-down
 * rows (pass your own), the interval macros use a 30 s scrape interval over the last hour.
 */
export const DEFAULT_QUERY_VARIABLES: Readonly<Record<string, string>> = {
  connection: 'dc-regressed',
  __rate_interval: '2m',
  __interval: '30s',
  __interval_ms: '30000',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
};

/** Every panel, including those inside collapsed rows. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** Replaces $name, ${name}, ${name:format} and [[name]]; an unknown variable is an error (a typo'd name otherwise reaches Prometheus). */
export function substituteVariables(expr: string, variables: Readonly<Record<string, string>>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, braced?: string, bracketed?: string, bare?: string) => {
    const name = (braced ?? bracketed ?? bare)!;
    const value = variables[name];
    if (value === undefined) throw new Error(`unknown dashboard variable ${whole} in: ${expr}`);
    return value;
  });
}

/** Every Prometheus query of the dashboard, in panel order. */
export function dashboardQueries(dashboard: GrafanaDashboard, variables: Readonly<Record<string, string>> = DEFAULT_QUERY_VARIABLES): DashboardQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? [])
      .filter((target) => target.expr !== undefined)
      .map((target) => ({
        panel: panel.title,
        panelType: panel.type,
        refId: target.refId,
        instant: target.instant === true,
        expr: target.expr!,
        query: substituteVariables(target.expr!, variables),
      })),
  );
}

/**
 * Grafana's step for a range query of a panel (its interval calculation): the time range divided by the panel's
 * maxDataPoints (by default the panel's width in pixels), never finer than the panel's minimum interval. Grafana
 * then rounds to a "nice" interval near it; rounding up here keeps the point count an upper bound.
 */
export function grafanaStepSeconds(panel: Pick<GrafanaPanel, 'maxDataPoints' | 'interval'>, rangeSeconds: number, panelWidthPx = 1920): number {
  const maxDataPoints = panel.maxDataPoints ?? panelWidthPx;
  const minimum = panel.interval ? durationSeconds(panel.interval) : 1;
  return Math.max(Math.ceil(rangeSeconds / maxDataPoints), minimum);
}

function durationSeconds(text: string): number {
  const match = /^(\d+)(s|m|h)$/.exec(text);
  if (!match) throw new Error(`unsupported interval ${text}`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600 }[match[2] as 's' | 'm' | 'h'];
}
