import { Injectable } from '@nestjs/common';
import { ERASED_DOMAIN, OTHER_DOMAINS } from '../../campaigns/campaigns.repository';
import { CampaignsService } from '../../campaigns/campaigns.service';
import type { HtmlPage } from '../../common/html';
import { ReportLinkDto, ReportLinkRequest } from '../dto/report.dto';
import { StatsService } from '../stats.service';
import { CampaignMailCopy } from './campaign-mail-copy';
import { mailboxProviders } from './mailbox-providers';
import { ReportLinks } from './report-link';
import { reportPage } from './report-page';

/**
 * A campaign's report as one HTML page with its charts drawn on the server, and signed links that
 * show it without an API key. Its figures are the stats endpoint's (the same service builds both);
 * it reads counters and stored counts only, and never writes.
 */
@Injectable()
export class ReportService {
  constructor(
    private readonly stats: StatsService,
    private readonly campaigns: CampaignsService,
    private readonly mail: CampaignMailCopy,
    private readonly links: ReportLinks,
  ) {}

  async page(id: string, sharedUntil: Date | null = null): Promise<HtmlPage> {
    const campaign = this.campaigns.row(id);
    const [stats, row, timeseries, links, mail] = await Promise.all([
      this.stats.stats(id),
      campaign,
      this.stats.timeseries(id, { interval: 'hour', timezone: 'UTC' }),
      this.stats.links(id),
      campaign.then((r) => this.mail.copy(r)),
    ]);
    const domains = this.campaigns.mailboxDomains(row);
    return reportPage({
      campaign: {
        name: row.name,
        subject: row.subject,
        status: row.status,
        startedAt: row.started_at?.toISOString() ?? null,
        finishedAt: row.finished_at?.toISOString() ?? null,
      },
      stats,
      timeseries,
      links,
      mail,
      providers: domains && { of: domains.of, slices: mailboxProviders(domains.domains, [ERASED_DOMAIN, OTHER_DOMAINS]) },
      sharedUntil: sharedUntil?.toISOString() ?? null,
    });
  }

  async link(id: string, dto: ReportLinkRequest): Promise<ReportLinkDto> {
    await this.campaigns.row(id);
    return this.links.create('campaign', id, dto.expiresInHours);
  }
}
