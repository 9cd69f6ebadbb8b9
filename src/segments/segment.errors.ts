import { AppError, ErrorDetail } from '../common/errors';

/** Rules that cannot be a segment: each detail names the path of the bad node (`rules.and[1].withinDays`). */
export class InvalidSegment extends AppError {
  constructor(details: ErrorDetail[]) {
    super('invalid_segment', details.map((d) => `${d.field}: ${d.message}`).join('; '), details);
  }

  static at(path: string, message: string): InvalidSegment {
    return new InvalidSegment([{ field: path, path, message }]);
  }
}

/** A segment that a campaign's audience or another segment's rules still name. */
export class SegmentInUse extends AppError {
  constructor(id: string, users: string[]) {
    super('segment_in_use', `segment ${id} is in use by ${users.join(', ')}`, [{ field: 'id', message: `in use by ${users.join(', ')}` }]);
  }
}
