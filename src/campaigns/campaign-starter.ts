import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { TemplatesService } from '../content/templates.service';
import { AudienceResolver } from './audience-resolver';
import { CampaignsRepository } from './campaigns.repository';
import { CampaignsService } from './campaigns.service';
import type { VariantSpec } from './variants';

/**
 * Starts a campaign: pins its template version, stores its link slots, and freezes the audience in
 * set-based statements into `messages` — confirmed subscribers of the chosen lists, each once, minus
 * suppressions and erased profiles — each with its own send time.
 */
@Injectable()
export class CampaignStarter {
  private readonly logger = new Logger(CampaignStarter.name);

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly campaigns: CampaignsService,
    private readonly repository: CampaignsRepository,
    private readonly templates: TemplatesService,
    private readonly resolver: AudienceResolver,
  ) {}

  /** True when there is something to dispatch. Safe to run twice: resolution happens once. */
  async start(campaignId: string): Promise<boolean> {
    const row = await this.campaigns.row(campaignId);
    if (row.status === 'scheduled') {
      await this.repository.transition(this.db.manager, campaignId, ['scheduled'], 'sending', {});
    } else if (row.status !== 'sending' && row.status !== 'paused') {
      return false; // cancelled, or back to draft
    }
    if (row.started_at) return true;
    const version = row.template_version ?? (await this.templates.version(row.template_id)).version;
    const variants = row.variants && (await Promise.all(row.variants.map((v) => this.pinned(v))));
    await this.repository.pinTemplateVersions(campaignId, version, variants);
    await this.campaigns.compiled({ ...row, template_version: version, variants }); // compiles once and stores the link slots
    const started = Date.now();
    await this.db.transaction(async (tx) => {
      if (await this.repository.lockForStart(tx, campaignId)) return;
      // started_at is set only after every range: a crash in between leaves a rerun to fill in what is missing.
      const { total } = await this.resolver.freeze(campaignId, row.audience);
      await this.repository.markStarted(tx, campaignId, total);
    });
    this.logger.log(`campaign ${campaignId}: audience resolved in ${Date.now() - started} ms`);
    return true;
  }

  /** The audience's recipients by domain for the report, once sending is under way (a no-op when kept already). */
  keepAudienceDomains(campaignId: string): Promise<void> {
    return this.repository.keepAudienceDomains(campaignId);
  }

  /** A variant with its own template sends that template's version of now, like the campaign's. */
  private async pinned(v: VariantSpec): Promise<VariantSpec> {
    if (!v.templateId || v.templateVersion) return v;
    return { ...v, templateVersion: (await this.templates.version(v.templateId)).version };
  }
}
