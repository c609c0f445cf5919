-- The status page's 24-hour outcome strips count each connection's probes by class per hour. With class in the
-- index that count reads the index alone instead of one table row per probe (1,440 a day per connection on a
-- one-minute schedule). It replaces probes_connection_started, whose queries (recent probes, history) use its prefix.
-- Building it reads the probes table once: seconds per million rows, at the first start after the upgrade.
CREATE INDEX probes_connection_started_class ON probes (connection, started_at, class);
DROP INDEX probes_connection_started;
