import { AppError, ErrorDetail } from '../common/errors';

/** MJML or Handlebars that does not compile or validate: MJML's own messages, with their lines. */
export class InvalidTemplate extends AppError {
  constructor(message: string, details: ErrorDetail[]) {
    super('invalid_template', message, details);
  }
}

/** The starters shipped in templates/ are read-only. */
export class StarterReadOnly extends AppError {
  constructor(id: string, starter: string) {
    super('starter_read_only', `template ${id} is the "${starter}" starter and is read-only; create a template from its mjml instead`, [
      { field: 'id', message: 'starter templates are read-only' },
    ]);
  }
}
