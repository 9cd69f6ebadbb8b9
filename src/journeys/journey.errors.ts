import { AppError, ErrorDetail } from '../common/errors';

/** A definition that cannot run: each detail names the field (`steps[2].next`) and the step's id. */
export class InvalidJourney extends AppError {
  constructor(details: ErrorDetail[]) {
    super('invalid_journey', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }
}

/** An action the journey's lifecycle does not allow from where it is. */
export class JourneyTransition extends AppError {
  constructor(id: string, action: string, from: string[], current: string) {
    super('illegal_transition', `cannot ${action} journey ${id}: it is ${current}`, [
      { field: 'status', message: `${action} needs ${from.join(' or ')}; the journey is ${current}` },
    ]);
  }
}

/** A published journey stays (its versions are what enrolments run on); archive it instead. */
export class JourneyPublished extends AppError {
  constructor(id: string) {
    super('journey_published', `journey ${id} has been published; archive it instead`, [
      { field: 'status', message: 'published journeys are archived, not deleted' },
    ]);
  }
}

/** Enrolment by API refused: the journey does not enrol now, or the person may not (re-)enter. */
export class NotEnrolled extends AppError {
  constructor(journeyId: string, field: string, reason: string) {
    super('not_enrolled', `not enrolled in journey ${journeyId}: ${reason}`, [{ field, message: reason }]);
  }
}
