// A local HTTP server standing in for Alertmanager's API v2: records requests, answers from a script.
import { startRecordingServer, type RecordingServer } from './slack-mock.js';

export type AlertmanagerMock = RecordingServer & { url: string };

/** Alertmanager answers 200 with an empty body to an accepted POST /api/v2/alerts. */
export async function startAlertmanagerMock(): Promise<AlertmanagerMock> {
  const server = await startRecordingServer({ status: 200, body: '' });
  return Object.assign(server, { url: server.origin });
}
