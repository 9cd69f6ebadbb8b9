import { MigrationInterface, QueryRunner } from 'typeorm';

export class Content1732290000000 implements MigrationInterface {
  name = 'Content1732290000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE templates (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        starter_key text UNIQUE,               -- set for the read-only starters shipped in templates/
        current_version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        deleted_at timestamptz                 -- kept: sent campaigns still point at their version
      );
      CREATE INDEX templates_page_idx ON templates (created_at, id) WHERE deleted_at IS NULL;  -- GET /v1/templates

      -- Every edit of MJML or subject is a new version; a campaign pins the version it sent.
      CREATE TABLE template_versions (
        template_id uuid NOT NULL REFERENCES templates (id),
        version integer NOT NULL,
        mjml text NOT NULL,
        subject text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (template_id, version)
      );

      CREATE TABLE campaigns (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL,
        subject text NOT NULL,
        template_id uuid NOT NULL REFERENCES templates (id),
        template_version integer,              -- pinned when the campaign is sent; NULL: the current version
        from_name text NOT NULL,
        from_email text NOT NULL,
        reply_to text,
        audience jsonb NOT NULL,               -- {lists: [id], segmentId?}
        data jsonb NOT NULL DEFAULT '{}',
        send_rate integer,                     -- messages/second, at most the transport's rate
        transport text NOT NULL DEFAULT 'default',
        postal_address text,
        status text NOT NULL DEFAULT 'draft',
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX campaigns_page_idx ON campaigns (created_at, id);  -- GET /v1/campaigns

      -- The tracked-link slots of a campaign: a click token names a slot, never a URL.
      CREATE TABLE campaign_links (
        campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        slot integer NOT NULL,
        url text NOT NULL,
        PRIMARY KEY (campaign_id, slot)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE campaign_links, campaigns, template_versions, templates`);
  }
}
