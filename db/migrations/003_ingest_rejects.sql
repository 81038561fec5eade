-- Events the database refused one by one (a poison row: a CHECK or trigger failure, a session
-- owned by another user): kept whole, with why, so nothing accepted at the door vanishes.
CREATE TABLE ingest_rejects (
  reject_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event        jsonb NOT NULL,
  event_id     uuid,
  -- INGEST_SESSION_CONFLICT or INGEST_REJECTED_BY_DATABASE
  code         text NOT NULL,
  -- the SQLSTATE of the refusal; NULL for a session conflict, which raises none
  sqlstate     text,
  message      text NOT NULL,
  received_at  timestamptz NOT NULL,
  rejected_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX ingest_rejects_rejected_at_idx ON ingest_rejects (rejected_at);
CREATE INDEX ingest_rejects_event_id_idx ON ingest_rejects (event_id);
