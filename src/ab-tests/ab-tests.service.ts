import { Injectable, Logger } from '@nestjs/common';
import { StatsService } from '../analytics/stats.service';
import { CampaignAbTests } from '../campaigns/campaign-ab-tests';
import { CampaignLifecycle } from '../campaigns/campaign-lifecycle.service';
import { CampaignRow, CampaignsService } from '../campaigns/campaigns.service';
import { AbBasis, AbState, variantId, variantIndex } from '../campaigns/variants';
import { AppError } from '../common/errors';
import { testShareNeeded } from '../experiments/ab-decision';
import { AbTestDecided, NoAbTest } from './ab-test.errors';
import { PowerDto, PowerQuery } from './dto/power.dto';

/**
 * Runs campaigns' A/B tests: looks at each running test (the statistics of ./experiments stay
 * valid however often it looks), and once there is a winner — shown by the test, by the fallback
 * at maxHours, or chosen by hand — gives it to the rest of the audience, which then goes out
 * through the campaign's normal dispatch.
 */
@Injectable()
export class AbTestsService {
  private readonly logger = new Logger(AbTestsService.name);

  constructor(
    private readonly campaigns: CampaignsService,
    private readonly abTests: CampaignAbTests,
    private readonly stats: StatsService,
    private readonly lifecycle: CampaignLifecycle,
  ) {}

  /** Every running test, once; a failure of one does not stop the others. */
  async lookAll(): Promise<void> {
    for (const id of await this.abTests.testing()) {
      await this.look(id).catch((e: Error) => this.logger.error(`A/B test of campaign ${id}: ${e.message}`));
    }
  }

  async look(id: string): Promise<void> {
    const row = await this.campaigns.row(id);
    if (row.ab_state !== 'testing' || !row.ab_test) return;
    const [progress] = await this.campaigns.progress([row]);
    const { decision } = await this.stats.variantResults(row, progress.total);
    if (decision.state === 'testing') return this.abTests.noteAbTest(id, decision.reason);
    const winner = decision.winner === undefined ? null : variantIndex(decision.winner, row.variants!.length);
    await this.conclude(row, ['testing'], winner, decision.basis ?? null, decision.reason);
  }

  /** A winner by hand, while the test runs or after it was inconclusive. */
  async decide(id: string, chosen: string): Promise<void> {
    const row = await this.campaigns.row(id);
    if (!row.ab_test || !row.variants) throw new NoAbTest(id);
    const index = variantIndex(chosen, row.variants.length);
    if (index < 0) {
      throw AppError.invalid('variantId', `no variant ${chosen}: this campaign has ${row.variants.map((_, i) => variantId(i)).join(', ')}`);
    }
    if (row.ab_state === 'decided') throw new AbTestDecided(id, variantId(row.ab_winner!));
    if (!row.ab_state) throw AppError.invalid('variantId', 'the test starts when the campaign is sent; decide after that');
    const standing = row.ab_reason ? ` Where the test stood: ${row.ab_reason}` : '';
    const done = await this.conclude(row, ['testing', 'inconclusive'], index, 'manual', `${chosen} (“${row.variants[index].name}”) chosen by hand.${standing}`);
    if (!done) {
      const now = await this.campaigns.row(id);
      throw new AbTestDecided(id, variantId(now.ab_winner!));
    }
  }

  /** The test size for a base rate and the smallest lift worth finding (see experiments/power.ts). */
  power(q: PowerQuery): PowerDto {
    if (q.baseRate * (1 + q.relativeLift) >= 1) throw AppError.invalid('relativeLift', 'the lifted rate baseRate × (1 + relativeLift) must stay below 1');
    return testShareNeeded({ baseRate: q.baseRate, relativeLift: q.relativeLift, variants: q.variants ?? 2, audience: q.audience, power: q.power });
  }

  private async conclude(row: CampaignRow, from: AbState[], winner: number | null, basis: AbBasis | null, reason: string): Promise<boolean> {
    const done = await this.abTests.concludeAbTest(row.id, from, { winner, basis, reason });
    if (!done) return false;
    this.logger.log(`A/B test of campaign ${row.id}: ${reason}`);
    if (winner !== null) await this.lifecycle.dispatch(row.id);
    return true;
  }
}
