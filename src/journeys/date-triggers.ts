import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { SubscribersService } from '../audience/subscribers.service';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { Entrant } from './enrolments.repository';
import { JourneyTriggers } from './journey-triggers';
import { JourneyVersions } from './journey-versions';
import { nextAnniversary } from './local-time';

/** How far ahead a yearly date trigger enrols (the enrolment then starts at the anniversary's moment). */
const DATE_HORIZON_MS = 36 * 3_600_000;
const DATE_PAGE = 5_000;

/** Yearly date triggers (birthdays, renewals), scanned every few minutes by the worker. */
@Injectable()
export class DateTriggers {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly versions: JourneyVersions,
    private readonly triggers: JourneyTriggers,
    private readonly subscribers: SubscribersService,
  ) {}

  /**
   * Yearly date triggers: everyone whose anniversary moment (the attribute's month and day, plus
   * offsetDays, at `at` in their own time zone) falls within the next day and a half is enrolled
   * now, to start at that moment. Each scan looks at the whole window again, so that a subscriber
   * added (or whose date changed) since the last one is not missed; the one active enrolment per
   * person, and past moments counting for next year, keep anyone from entering twice for one date.
   */
  async scanDates(): Promise<number> {
    let enrolled = 0;
    for (const j of await this.versions.enrolling()) {
      const t = j.trigger;
      if (t.type !== 'date') continue;
      const from = new Date();
      const until = new Date(from.getTime() + DATE_HORIZON_MS);
      const days = monthDays(from, until, t.offsetDays);
      for (let after: string | null = null; ;) {
        const page = await this.subscribers.anniversaries(t.attribute, days, after, DATE_PAGE);
        const due: Entrant[] = [];
        for (const s of page) {
          const at = anniversaryIn(from, s.value, t.at, s.timezone, this.config.defaultTimezone, t.offsetDays);
          if (at && at <= until) due.push({ subscriberId: s.id, trigger: { attribute: t.attribute, date: s.value }, data: {}, dueAt: at });
        }
        if (due.length) enrolled += (await this.db.transaction((tx) => this.triggers.enrol(tx, j, due))).length;
        if (page.length < DATE_PAGE) break;
        after = page[page.length - 1].id;
      }
    }
    return enrolled;
  }
}

/** The month-days ('MM-DD') whose anniversaries can fall in [from, until] in some zone, allowing for the offset. */
function monthDays(from: Date, until: Date, offsetDays: number): string[] {
  const out = new Set<string>();
  const day = 86_400_000;
  for (let t = from.getTime() - offsetDays * day - 2 * day; t <= until.getTime() - offsetDays * day + 2 * day; t += day) {
    const md = new Date(t).toISOString().slice(5, 10);
    out.add(md);
    if (md === '02-28') out.add('02-29'); // celebrated on the 28th in years without a 29th
  }
  return [...out];
}

/** The next anniversary moment in the subscriber's zone, or in the default one when theirs is unset or unknown. */
function anniversaryIn(after: Date, value: string, at: string, tz: string | null, fallback: string, offsetDays: number): Date | null {
  try {
    return nextAnniversary(after, value, at, tz ?? fallback, offsetDays);
  } catch {
    return nextAnniversary(after, value, at, fallback, offsetDays);
  }
}
