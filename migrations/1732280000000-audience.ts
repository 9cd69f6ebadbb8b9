import { MigrationInterface, QueryRunner } from 'typeorm';

export class Audience1732280000000 implements MigrationInterface {
  name = 'Audience1732280000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      -- Suppression is keyed by this hash so that an erased address stays blocked without being stored.
      CREATE FUNCTION email_hash(email text) RETURNS bytea
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT sha256(convert_to(lower(email), 'UTF8')) $$;

      -- Time-ordered UUIDs (version 7 layout): new rows land at the right edge of every index on the
      -- id, instead of at random pages, which is what keeps a million-row import fast.
      CREATE FUNCTION uuid_v7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
        SELECT encode(
          set_bit(set_bit(
            overlay(uuid_send(gen_random_uuid()) PLACING substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
          52, 1), 53, 1), 'hex')::uuid
      $$;

      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        prefix text NOT NULL UNIQUE,          -- the key's public part; auth looks keys up by it
        secret_hash bytea NOT NULL,           -- sha256 of the whole key
        scopes text[] NOT NULL CHECK (scopes <@ ARRAY['admin', 'write', 'read']),
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz
      );

      CREATE TABLE lists (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        description text,
        opt_in text NOT NULL CHECK (opt_in IN ('single', 'double')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX lists_page_idx ON lists (created_at, id);  -- GET /v1/lists keyset paging

      CREATE TABLE subscribers (
        id uuid PRIMARY KEY DEFAULT uuid_v7(),
        email text UNIQUE CHECK (email = lower(email)),  -- NULL once erased
        name text,
        attributes jsonb NOT NULL DEFAULT '{}',
        timezone text,
        last_import_id uuid,                   -- the latest import that touched it: a second row of the same file is a duplicate
        erased_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      -- GET /v1/subscribers pages on the primary key: ids are time-ordered, so no second index is needed.

      CREATE TABLE subscriptions (
        subscriber_id uuid NOT NULL,           -- no foreign key: subscribers are never deleted (an erase keeps the row)
        -- No foreign key either: a per-row check costs an import of a million rows seconds. Writers
        -- take the list row FOR KEY SHARE once per statement or batch (what the check would do per
        -- row), and deleting a list deletes its subscriptions in the same transaction.
        list_id uuid NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'unsubscribed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        confirmed_at timestamptz,
        unsubscribed_at timestamptz,
        PRIMARY KEY (subscriber_id, list_id)  -- a subscriber's subscriptions
      );
      -- List counts (index-only) and audience resolution: confirmed members of a list.
      CREATE INDEX subscriptions_list_status_idx ON subscriptions (list_id, status, subscriber_id);

      -- The consent ledger. Rows are never changed or removed, except that an erase blanks IP and user agent.
      CREATE TABLE consent_events (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        subscriber_id uuid NOT NULL,           -- no foreign key: subscribers are never deleted (an erase keeps the row)
        list_id uuid,                          -- no foreign key: the record outlives the list
        action text NOT NULL CHECK (action IN ('subscribe', 'confirm', 'unsubscribe', 'erase')),
        source text NOT NULL CHECK (source IN ('api', 'form', 'import', 'admin')),
        status text,                           -- the subscription status this event produced
        consent_text text,
        ip inet,
        user_agent text,
        import_id uuid,
        occurred_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX consent_events_subscriber_idx ON consent_events (subscriber_id, id);  -- a subscriber's ledger

      CREATE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.ip IS NULL AND NEW.user_agent IS NULL
           AND (NEW.id, NEW.subscriber_id, NEW.list_id, NEW.action, NEW.source, NEW.status, NEW.consent_text, NEW.import_id, NEW.occurred_at)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.subscriber_id, OLD.list_id, OLD.action, OLD.source, OLD.status, OLD.consent_text, OLD.import_id, OLD.occurred_at)
        THEN
          RETURN NEW;  -- erasing personal data from the record
        END IF;
        RAISE EXCEPTION 'consent_events is append-only';
      END $$;
      CREATE TRIGGER consent_events_append_only BEFORE UPDATE OR DELETE ON consent_events
        FOR EACH ROW EXECUTE FUNCTION consent_events_append_only();

      CREATE TABLE suppressions (
        email_hash bytea PRIMARY KEY,          -- email_hash(email); the only trace left of an erased address
        email text CHECK (email = lower(email)),
        reason text NOT NULL CHECK (reason IN ('unsubscribed', 'hard_bounce', 'complaint', 'manual', 'erased')),
        note text,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX suppressions_page_idx ON suppressions (created_at, email_hash);  -- GET /v1/suppressions paging

      CREATE TABLE imports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        list_id uuid NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
        status text NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'completed', 'failed')),
        filename text,
        consent_text text,
        bytes bigint NOT NULL DEFAULT 0,
        bytes_processed bigint NOT NULL DEFAULT 0,
        total integer NOT NULL DEFAULT 0,            -- data rows, counted on upload; exact when completed
        rows_processed integer NOT NULL DEFAULT 0,   -- data rows done, committed with each batch (resume point)
        created integer NOT NULL DEFAULT 0,
        updated integer NOT NULL DEFAULT 0,
        skipped integer NOT NULL DEFAULT 0,
        error_count integer NOT NULL DEFAULT 0,
        failure text,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        finished_at timestamptz
      );

      CREATE TABLE import_errors (
        import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
        line integer NOT NULL,
        reason text NOT NULL,
        PRIMARY KEY (import_id, line)
      );

      -- The uploaded file, in chunks, so that any worker on any machine can read it.
      CREATE TABLE import_chunks (
        import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
        seq integer NOT NULL,
        data bytea NOT NULL,
        PRIMARY KEY (import_id, seq)
      );
      ALTER TABLE import_chunks ALTER COLUMN data SET STORAGE EXTERNAL;  -- CSV gains little from TOAST compression

      -- Rows of a running import applied so far, per partition (the resume point of each).
      CREATE TABLE import_progress (
        import_id uuid NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
        part integer NOT NULL,
        rows_processed integer NOT NULL DEFAULT 0,
        PRIMARY KEY (import_id, part)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE import_progress, import_chunks, import_errors, imports, suppressions;
      DROP TABLE consent_events; DROP FUNCTION consent_events_append_only;
      DROP TABLE subscriptions, subscribers, lists, api_keys;
      DROP FUNCTION email_hash, uuid_v7;
    `);
  }
}
