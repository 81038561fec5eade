-- user_metrics becomes range-partitioned on "timestamp" (docs/storage.md): each partition has
-- small indexes, and old data leaves by dropping whole partitions, never by a mass DELETE.
--
-- The service creates the partitions themselves (src/storage/partitions.ts): PARTITION_INTERVAL
-- apart, ahead of time, and on demand for a back-filled timestamp. This migration only changes
-- the parent, and keeps the rows a database already holds where they are:
-- - an empty user_metrics (a new install) is replaced outright;
-- - a populated one becomes the partition user_metrics_legacy, covering every timestamp up to the
--   end of the current month (UTC). No row is copied: attaching it checks its timestamps and
--   builds its two new indexes, under this migration's lock — writers wait meanwhile, they are
--   not refused (docs/storage.md says how long per million rows).
--
-- Keys follow PostgreSQL's rule that a unique index on a partitioned table includes the partition
-- key: idempotency is unique (event_id, "timestamp"). A retried event carries its own timestamp,
-- so a retry still finds its first copy, old rows' ids included.

ALTER TABLE user_metrics RENAME TO user_metrics_legacy;
ALTER INDEX user_metrics_pkey RENAME TO user_metrics_legacy_pkey;
ALTER INDEX user_metrics_session_time_idx RENAME TO user_metrics_legacy_session_time_idx;
ALTER INDEX user_metrics_timestamp_idx RENAME TO user_metrics_legacy_timestamp_idx;
ALTER INDEX user_metrics_event_id_key RENAME TO user_metrics_legacy_event_id_key;
-- The identity's sequence goes with it; the parent numbers rows from its own sequence, which
-- carries on where the old one stopped.
ALTER TABLE user_metrics_legacy ALTER COLUMN metric_id DROP IDENTITY;

-- Same columns in the same order (a partition must have exactly the parent's), and the constraints
-- named as 001 named them: a partition must carry every CHECK of its parent by name, and an
-- unnamed one would be numbered (…_check1) beside the legacy table's.
CREATE TABLE user_metrics (
  metric_id        bigint NOT NULL,
  session_id       bigint NOT NULL CONSTRAINT user_metrics_session_id_fkey REFERENCES sessions (session_id),
  talked_time      interval NOT NULL CONSTRAINT user_metrics_talked_time_check CHECK (talked_time >= interval '0' AND talked_time <= interval '24 hours'),
  microphone_used  boolean NOT NULL,
  speaker_used     boolean NOT NULL,
  voice_sentiment  text NOT NULL CONSTRAINT user_metrics_voice_sentiment_check CHECK (voice_sentiment IN ('positive', 'neutral', 'negative')),
  "timestamp"      timestamptz NOT NULL CONSTRAINT user_metrics_timestamp_check CHECK ("timestamp" >= '2000-01-01T00:00:00Z'),
  created_at       timestamptz NOT NULL DEFAULT now(),
  event_id         uuid,
  PRIMARY KEY (metric_id, "timestamp")
) PARTITION BY RANGE ("timestamp");

CREATE SEQUENCE user_metrics_metric_id_seq AS bigint OWNED BY user_metrics.metric_id;
ALTER TABLE user_metrics ALTER COLUMN metric_id SET DEFAULT nextval('user_metrics_metric_id_seq');

-- metrics of a session over time
CREATE INDEX user_metrics_session_time_idx ON user_metrics (session_id, "timestamp");
-- metrics by time, across sessions
CREATE INDEX user_metrics_timestamp_idx ON user_metrics ("timestamp");
-- Idempotency (002): NULLs never conflict, so events without an id behave as before.
CREATE UNIQUE INDEX user_metrics_event_id_key ON user_metrics (event_id, "timestamp");

DO $$
DECLARE
  newest timestamptz;
  last_id bigint;
BEGIN
  SELECT max("timestamp"), max(metric_id) INTO newest, last_id FROM user_metrics_legacy;
  IF last_id IS NULL THEN
    DROP TABLE user_metrics_legacy;
    RETURN;
  END IF;
  PERFORM setval('user_metrics_metric_id_seq', last_id);
  -- The parent's indexes replace these: (event_id) and (metric_id) alone are not valid keys on a
  -- partitioned table. The two that match the parent's are attached as they are.
  ALTER TABLE user_metrics_legacy DROP CONSTRAINT user_metrics_legacy_pkey;
  DROP INDEX user_metrics_legacy_event_id_key;
  EXECUTE format(
    'ALTER TABLE user_metrics ATTACH PARTITION user_metrics_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
    (date_trunc('month', greatest(newest, now()) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC');
END
$$;
