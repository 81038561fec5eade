-- The writer's one-statement flush claims a batch's new sessions and writes its users and
-- metrics in a single autocommit statement (src/ingest/writer.ts). If a session it claims turns
-- out to belong to another user, nothing of the statement may stay: this raises, the statement
-- rolls back whole, and the writer runs the batch again as a transaction that finds out whose
-- session it is and keeps the conflicting events in ingest_rejects.
CREATE FUNCTION ingest_claims_held(claimed bigint, wanted bigint) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF claimed < wanted THEN
    -- A class no PostgreSQL error uses, so the writer cannot mistake it for another failure.
    RAISE EXCEPTION 'a session of this batch belongs to another user' USING ERRCODE = 'MI409';
  END IF;
  RETURN true;
END
$$;
