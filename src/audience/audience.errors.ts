import { AppError, ErrorDetail } from '../common/errors';

/** The address is on the suppression list: nothing may subscribe it (the reason says why it is there). */
export class AddressSuppressed extends AppError {
  /** `field`: the request field that held the address. */
  constructor(email: string, reason: string, field = 'email') {
    super('address_suppressed', `${email} is on the suppression list (${reason})`, [{ field, message: `suppressed: ${reason}` }]);
  }
}

/** An uploaded file that cannot be imported at all (empty, no header, an encoding it is not in). */
export class UnreadableFile extends AppError {
  constructor(message: string, detail: ErrorDetail) {
    super('unreadable_file', message, [detail]);
  }
}

/** The list's form settings do not allow the embed asked for. */
export class FormNotEmbeddable extends AppError {
  constructor(message: string, field: string, detail: string) {
    super('form_not_embeddable', message, [{ field, message: detail }]);
  }
}
