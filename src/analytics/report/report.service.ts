import { Inject, Injectable } from '@nestjs/common';
import { ERASED_DOMAIN, OTHER_DOMAINS } from '../../campaigns/campaigns.repository';
import { CampaignsService } from '../../campaigns/campaigns.service';
import { AppError } from '../../common/errors';
import { HtmlPage, linkNotRecognised, page } from '../../common/html';
import { TokenSigner } from '../../common/tokens';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import { ReportLinkDto, ReportLinkRequest } from '../dto/report.dto';
import { StatsService } from '../stats.service';
import { mailboxProviders } from './mailbox-providers';
import { readReportLink, signReportLink } from './report-link';
import { reportPage } from './report-page';

const DEFAULT_LINK_HOURS = 168;

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
    private readonly signer: TokenSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async page(id: string, sharedUntil: Date | null = null): Promise<HtmlPage> {
    const [stats, row, timeseries, links] = await Promise.all([
      this.stats.stats(id),
      this.campaigns.row(id),
      this.stats.timeseries(id, { interval: 'hour', timezone: 'UTC' }),
      this.stats.links(id),
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
      providers: domains && { of: domains.of, slices: mailboxProviders(domains.domains, [ERASED_DOMAIN, OTHER_DOMAINS]) },
      sharedUntil: sharedUntil?.toISOString() ?? null,
    });
  }

  async link(id: string, dto: ReportLinkRequest): Promise<ReportLinkDto> {
    await this.campaigns.row(id);
    const expires = Math.floor(Date.now() / 1000) + (dto.expiresInHours ?? DEFAULT_LINK_HOURS) * 3600;
    const token = signReportLink(this.signer, { campaignId: id, expires });
    return { url: `${this.config.http.publicUrl}/r/${token}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** The page a shared link shows: the report, or why not (never an error of ours). */
  async shared(token: string): Promise<HtmlPage> {
    const grant = readReportLink(this.signer, token);
    if (!grant) return linkNotRecognised();
    if (grant.expires * 1000 <= Date.now()) {
      return { status: 410, html: page('This link has expired', '<p>This report link has expired. Ask whoever shared it for a new one.</p>') };
    }
    try {
      return await this.page(grant.campaignId, new Date(grant.expires * 1000));
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') {
        return { status: 404, html: page('Report not found', '<p>The campaign this link was made for no longer exists.</p>') };
      }
      throw e;
    }
  }
}
