import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../../common/errors';
import { escapeHtml, HtmlPage, linkNotRecognised, page } from '../../common/html';
import { ReportKind, ReportLinks } from './report-link';

/**
 * Each kind's report page as a shared link shows it. Journeys' report is theirs and journeys depend
 * on analytics, so the composition root provides this (SharedReportsModule in app.module.ts).
 */
export type ReportPages = Record<ReportKind, (id: string, sharedUntil: Date) => Promise<HtmlPage>>;
export const REPORT_PAGES = Symbol('REPORT_PAGES');

/** The page a shared report link shows: the report, or why not (never an error of ours). */
@Injectable()
export class SharedReports {
  constructor(
    private readonly links: ReportLinks,
    @Inject(REPORT_PAGES) private readonly pages: ReportPages,
  ) {}

  async page(token: string): Promise<HtmlPage> {
    const grant = this.links.read(token);
    if (!grant) return linkNotRecognised();
    if (grant.expires * 1000 <= Date.now()) {
      return { status: 410, html: page('This link has expired', '<p>This report link has expired. Ask whoever shared it for a new one.</p>') };
    }
    try {
      return await this.pages[grant.kind](grant.id, new Date(grant.expires * 1000));
    } catch (e) {
      if (e instanceof AppError && e.code === 'not_found') {
        return { status: 404, html: page('Report not found', `<p>The ${escapeHtml(grant.kind)} this link was made for no longer exists.</p>`) };
      }
      throw e;
    }
  }
}

/** Said in a shared report's header; `until` is an ISO time. */
export function sharedUntilNote(until: string | null): string {
  return until ? ` · shared link, valid until ${escapeHtml(until.slice(0, 16).replace('T', ' '))} UTC` : '';
}
