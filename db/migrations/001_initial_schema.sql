-- The origin's data model (users → sessions → user_metrics), with the faults it had removed:
-- email is not unique (a shared address was a 500 there), and every CHECK mirrors the
-- validation in src/ingest/schema.ts, so a row the API accepts is a row the database accepts.

CREATE TABLE users (
  user_id       bigint PRIMARY KEY CHECK (user_id > 0),
  name          text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 255),
  email         text NOT NULL CHECK (char_length(email) BETWEEN 3 AND 255),
  -- timestamp of the event that set name and email: the latest event wins, whatever order events arrive in
  profile_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
  session_id    bigint PRIMARY KEY CHECK (session_id > 0),
  -- Deferred, so a flush can claim sessions first and upsert only the users of the events it accepts.
  user_id       bigint NOT NULL REFERENCES users (user_id) DEFERRABLE INITIALLY DEFERRED,
  device_id     text CHECK (char_length(device_id) <= 255),
  platform      text CHECK (char_length(platform) <= 255),
  location      text CHECK (char_length(location) <= 255),
  start_time    timestamptz CHECK (start_time >= '2000-01-01T00:00:00Z'),
  end_time      timestamptz CHECK (end_time >= '2000-01-01T00:00:00Z'),
  created_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (end_time >= start_time)
);

-- sessions by user
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE TABLE user_metrics (
  metric_id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  session_id       bigint NOT NULL REFERENCES sessions (session_id),
  talked_time      interval NOT NULL CHECK (talked_time >= interval '0' AND talked_time <= interval '24 hours'),
  microphone_used  boolean NOT NULL,
  speaker_used     boolean NOT NULL,
  voice_sentiment  text NOT NULL CHECK (voice_sentiment IN ('positive', 'neutral', 'negative')),
  "timestamp"      timestamptz NOT NULL CHECK ("timestamp" >= '2000-01-01T00:00:00Z'),
  created_at       timestamptz NOT NULL DEFAULT now()
);

-- metrics of a session over time
CREATE INDEX user_metrics_session_time_idx ON user_metrics (session_id, "timestamp");
-- metrics by time, across sessions
CREATE INDEX user_metrics_timestamp_idx ON user_metrics ("timestamp");
