-- failure_run: the current run of failures of one kind (auth-class, or network/tls/server-class), which is what
-- failureThreshold counts. Existing rows start from the failures since the last success.
ALTER TABLE connection_state ADD COLUMN failure_run INTEGER NOT NULL DEFAULT 0 CHECK (failure_run >= 0);
UPDATE connection_state SET failure_run = consecutive_failures;

-- target: the notifier lane a row belongs to within its channel (an Alertmanager URL, 'webhook' for Slack).
-- Rows were delivered FIFO per (channel, target); the target used to travel inside the payload as {target, body}.
ALTER TABLE outbox ADD COLUMN target TEXT NOT NULL DEFAULT '';
UPDATE outbox SET target = json_extract(payload, '$.target'), payload = json(json_extract(payload, '$.body'))
  WHERE json_type(payload, '$.target') = 'text' AND json_type(payload, '$.body') IS NOT NULL;
CREATE INDEX outbox_lanes ON outbox (channel, target, id) WHERE delivered_at IS NULL AND failed_at IS NULL;
