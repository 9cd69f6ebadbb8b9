import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Public sign-up forms per list: on or off, whether they need the proof-of-work challenge, which
 * other sites may post to them (CORS) and frame them; and the list's own consent wording, versioned,
 * which the ledger records with every form sign-up instead of anything the poster sends.
 */
export class PublicForms1732340000000 implements MigrationInterface {
  name = 'PublicForms1732340000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE lists
        ADD COLUMN consent_text text,
        ADD COLUMN consent_version int NOT NULL DEFAULT 0,  -- 0: no wording yet; +1 on every change
        ADD COLUMN form_enabled boolean,
        ADD COLUMN form_challenge boolean NOT NULL DEFAULT true,
        ADD COLUMN form_origins text[] NOT NULL DEFAULT '{}';
      -- A stranger posting an address to a single opt-in list would subscribe someone else: off by default.
      UPDATE lists SET form_enabled = (opt_in = 'double');
      ALTER TABLE lists ALTER COLUMN form_enabled SET NOT NULL;

      ALTER TABLE consent_events ADD COLUMN consent_version int;  -- the list's wording version the text is
      CREATE OR REPLACE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.ip IS NULL AND NEW.user_agent IS NULL
           AND (NEW.id, NEW.subscriber_id, NEW.list_id, NEW.action, NEW.source, NEW.status, NEW.consent_text, NEW.consent_version, NEW.import_id, NEW.occurred_at)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.subscriber_id, OLD.list_id, OLD.action, OLD.source, OLD.status, OLD.consent_text, OLD.consent_version, OLD.import_id, OLD.occurred_at)
        THEN
          RETURN NEW;  -- erasing personal data from the record
        END IF;
        RAISE EXCEPTION 'consent_events is append-only';
      END $$;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE OR REPLACE FUNCTION consent_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'UPDATE' AND NEW.ip IS NULL AND NEW.user_agent IS NULL
           AND (NEW.id, NEW.subscriber_id, NEW.list_id, NEW.action, NEW.source, NEW.status, NEW.consent_text, NEW.import_id, NEW.occurred_at)
               IS NOT DISTINCT FROM
               (OLD.id, OLD.subscriber_id, OLD.list_id, OLD.action, OLD.source, OLD.status, OLD.consent_text, OLD.import_id, OLD.occurred_at)
        THEN
          RETURN NEW;
        END IF;
        RAISE EXCEPTION 'consent_events is append-only';
      END $$;
      ALTER TABLE consent_events DROP COLUMN consent_version;
      ALTER TABLE lists DROP COLUMN consent_text, DROP COLUMN consent_version, DROP COLUMN form_enabled, DROP COLUMN form_challenge, DROP COLUMN form_origins;
    `);
  }
}
