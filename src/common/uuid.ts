import { ParseUUIDPipe } from '@nestjs/common';
import { AppError } from './errors';

/** Ids in paths are UUIDs; anything else cannot name a row, so it is a 404 rather than a database error. */
export const idParam = (what: string) =>
  new ParseUUIDPipe({
    exceptionFactory: () => new AppError('not_found', `${what} not found`, [{ field: 'id', message: 'is not an id this API issued' }]),
  });
