import type { FieldRule, ListRule } from '../segments/rules';
import { compare, jsonReadings, ProfileSql, Readings, SqlParams } from '../segments/segment-sql';

/** Built-in fields as the segment rules name them, read from the subscriber row `s`. */
const FIELDS: Record<Extract<FieldRule, { kind: 'field' }>['field'], Readings> = {
  email: text('s.email'),
  emailDomain: text(`split_part(s.email, '@', 2)`),
  name: text('s.name'),
  timezone: text('s.timezone'),
  createdAt: { text: 'NULL::text', number: 'NULL::numeric', time: 's.created_at', exists: 'true' },
};

function text(column: string): Readings {
  return { text: column, number: 'NULL::numeric', time: 'NULL::timestamptz', exists: `${column} IS NOT NULL` };
}

/** The audience's part of segment rules: who has an address, their fields and attributes, and their subscriptions. */
export class SegmentProfileSql implements ProfileSql {
  select(condition: string, columns: 'id' | 'summary' = 'id'): string {
    const selected = columns === 'id' ? 's.id' : 's.id, s.email, s.name, s.external_id, s.attributes, s.timezone, s.created_at';
    return `SELECT ${selected} FROM subscribers s WHERE s.email IS NOT NULL AND (${condition})`;
  }

  field(rule: FieldRule, p: SqlParams): string {
    const readings = rule.kind === 'field' ? FIELDS[rule.field] : jsonReadings(`s.attributes -> ${p.add(rule.attribute, 'text')}`);
    return compare(readings, rule.test, p);
  }

  /** Served by the subscriptions primary key (subscriber_id, list_id). */
  list(rule: ListRule, p: SqlParams): string {
    return `EXISTS (SELECT 1 FROM subscriptions sub WHERE sub.subscriber_id = s.id AND sub.list_id = ${p.add(rule.list, 'uuid')} AND sub.status = ${p.add(rule.status, 'text')})`;
  }
}
