import { AppError } from '../common/errors';

/** An action the campaign's state machine does not allow from where the campaign is. */
export class IllegalTransition extends AppError {
  constructor(id: string, action: string, from: string[], current: string) {
    super('illegal_transition', `cannot ${action} campaign ${id}: it is ${current}`, [
      { field: 'status', message: `${action} needs ${from.join(' or ')}; the campaign is ${current}` },
    ]);
  }
}

/** Only a draft can be edited or deleted. */
export class CampaignNotDraft extends AppError {
  constructor(id: string, status: string, verb: string) {
    super('campaign_not_draft', `campaign ${id} is ${status}; only a draft can be ${verb}`, [{ field: 'status', message: status }]);
  }
}
