import { AppError } from '../common/errors';

/** A winner was asked of a campaign that runs no A/B test (no variants, or variants that split the whole audience). */
export class NoAbTest extends AppError {
  constructor(id: string) {
    super('no_ab_test', `campaign ${id} runs no A/B test`, [{ field: 'id', message: 'the campaign has no abTest' }]);
  }
}

/** The winner is chosen once: the rest of the audience has been given it. */
export class AbTestDecided extends AppError {
  constructor(id: string, winner: string) {
    super('ab_test_decided', `the A/B test of campaign ${id} is already decided: ${winner} won`, [
      { field: 'variantId', message: `already decided: ${winner}` },
    ]);
  }
}
