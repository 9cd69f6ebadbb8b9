import { localDate, nextAnniversary, nextLocalTime, quietUntil, zonedInstant } from './local-time';

const at = (iso: string) => new Date(iso);
const iso = (d: Date | null) => d?.toISOString() ?? null;

describe('zonedInstant', () => {
  it.each([
    // Europe/Paris: CET +01:00, CEST +02:00; clocks go 02:00 -> 03:00 on 2026-03-29 and 03:00 -> 02:00 on 2026-10-25.
    ['2026-03-29', '01:59', 'Europe/Paris', '2026-03-29T00:59:00.000Z'],
    ['2026-03-29', '02:00', 'Europe/Paris', '2026-03-29T01:00:00.000Z'], // gap: 03:00 CEST
    ['2026-03-29', '02:30', 'Europe/Paris', '2026-03-29T01:30:00.000Z'], // gap: 03:30 CEST
    ['2026-03-29', '03:00', 'Europe/Paris', '2026-03-29T01:00:00.000Z'],
    ['2026-10-25', '01:59', 'Europe/Paris', '2026-10-24T23:59:00.000Z'],
    ['2026-10-25', '02:30', 'Europe/Paris', '2026-10-25T00:30:00.000Z'], // overlap: first occurrence, CEST
    ['2026-10-25', '03:00', 'Europe/Paris', '2026-10-25T02:00:00.000Z'],
    // America/New_York: EST -05:00, EDT -04:00; 02:00 -> 03:00 on 2026-03-08, 02:00 -> 01:00 on 2026-11-01.
    ['2026-03-08', '01:30', 'America/New_York', '2026-03-08T06:30:00.000Z'],
    ['2026-03-08', '02:30', 'America/New_York', '2026-03-08T07:30:00.000Z'], // gap: 03:30 EDT
    ['2026-03-08', '03:30', 'America/New_York', '2026-03-08T07:30:00.000Z'],
    ['2026-11-01', '01:30', 'America/New_York', '2026-11-01T05:30:00.000Z'], // overlap: first occurrence, EDT
    ['2026-11-01', '02:00', 'America/New_York', '2026-11-01T07:00:00.000Z'],
    ['2026-07-01', '09:00', 'Asia/Tokyo', '2026-07-01T00:00:00.000Z'],
    ['2026-01-01', '00:00', 'Asia/Tokyo', '2025-12-31T15:00:00.000Z'],
    ['2026-01-15', '09:00', 'Asia/Kolkata', '2026-01-15T03:30:00.000Z'],
    ['2026-07-15', '00:15', 'Asia/Kolkata', '2026-07-14T18:45:00.000Z'],
    ['2026-03-29', '02:30', 'UTC', '2026-03-29T02:30:00.000Z'],
  ])('%s %s in %s is %s', (date, time, tz, expected) => {
    expect(iso(zonedInstant(date, time, tz))).toBe(expected);
  });

  it('rejects bad input with a RangeError', () => {
    expect(() => zonedInstant('2026-01-01', '09:00', 'Mars/Olympus_Mons')).toThrow(RangeError);
    expect(() => zonedInstant('2026-02-30', '09:00', 'UTC')).toThrow(RangeError);
    expect(() => zonedInstant('2026-01-01', '24:00', 'UTC')).toThrow(RangeError);
    expect(() => zonedInstant('2026-01-01', '9:00', 'UTC')).toThrow(RangeError);
  });
});

describe('localDate', () => {
  it.each([
    ['2026-01-14T20:00:00Z', 'Asia/Kolkata', { date: '2026-01-15', weekday: 'thu', minutes: 90 }],
    ['2026-03-29T00:59:00Z', 'Europe/Paris', { date: '2026-03-29', weekday: 'sun', minutes: 119 }],
    ['2026-03-29T01:00:00Z', 'Europe/Paris', { date: '2026-03-29', weekday: 'sun', minutes: 180 }],
    ['2026-10-25T00:30:00Z', 'Europe/Paris', { date: '2026-10-25', weekday: 'sun', minutes: 150 }],
    ['2026-10-25T01:30:00Z', 'Europe/Paris', { date: '2026-10-25', weekday: 'sun', minutes: 150 }],
    ['2026-11-01T03:59:59Z', 'America/New_York', { date: '2026-10-31', weekday: 'sat', minutes: 1439 }],
    ['2026-12-31T15:00:00Z', 'Asia/Tokyo', { date: '2027-01-01', weekday: 'fri', minutes: 0 }],
    ['2026-12-31T23:59:00Z', 'UTC', { date: '2026-12-31', weekday: 'thu', minutes: 1439 }],
  ])('%s in %s', (when, tz, expected) => {
    expect(localDate(at(when), tz)).toEqual(expected);
  });

  it('throws a RangeError for an unknown zone', () => {
    expect(() => localDate(at('2026-01-01T00:00:00Z'), 'Not/A_Zone')).toThrow(RangeError);
  });
});

describe('nextLocalTime', () => {
  it.each([
    // The day of the spring change: 09:00 is already CEST / EDT.
    ['2026-03-28T12:00:00Z', '09:00', 'Europe/Paris', '2026-03-29T07:00:00.000Z'],
    ['2026-03-07T20:00:00Z', '09:00', 'America/New_York', '2026-03-08T13:00:00.000Z'],
    // The day of the autumn change: 09:00 is CET / EST again.
    ['2026-10-24T12:00:00Z', '09:00', 'Europe/Paris', '2026-10-25T08:00:00.000Z'],
    ['2026-10-31T14:00:00Z', '09:00', 'America/New_York', '2026-11-01T14:00:00.000Z'],
    // A wall time inside the gap lands after it.
    ['2026-03-28T12:00:00Z', '02:30', 'Europe/Paris', '2026-03-29T01:30:00.000Z'],
    // Between the two 02:30s of the autumn change the first has passed, and only the first counts: next day.
    ['2026-10-25T00:45:00Z', '02:30', 'Europe/Paris', '2026-10-26T01:30:00.000Z'],
    ['2026-07-01T00:00:01Z', '09:00', 'Asia/Tokyo', '2026-07-02T00:00:00.000Z'],
    ['2026-07-01T03:00:00Z', '09:00', 'Asia/Kolkata', '2026-07-01T03:30:00.000Z'],
    ['2026-12-31T23:00:00Z', '08:00', 'UTC', '2027-01-01T08:00:00.000Z'],
  ])('after %s, %s in %s is %s', (after, time, tz, expected) => {
    expect(iso(nextLocalTime(at(after), time, tz))).toBe(expected);
  });

  it('returns `after` itself when it is the target instant', () => {
    expect(iso(nextLocalTime(at('2026-03-09T08:00:00Z'), '09:00', 'Europe/Paris'))).toBe('2026-03-09T08:00:00.000Z');
    expect(iso(nextLocalTime(at('2026-03-09T08:00:00Z'), '09:00', 'Europe/Paris', ['mon']))).toBe('2026-03-09T08:00:00.000Z');
    expect(iso(nextLocalTime(at('2026-03-09T08:00:00.001Z'), '09:00', 'Europe/Paris', ['mon']))).toBe('2026-03-16T08:00:00.000Z');
  });

  it('keeps to the given weekdays', () => {
    // Friday 18:00 in Paris -> Monday 09:00.
    expect(iso(nextLocalTime(at('2026-03-06T17:00:00Z'), '09:00', 'Europe/Paris', ['mon']))).toBe('2026-03-09T08:00:00.000Z');
    // Friday 19:00 in New York -> Monday 09:00, which is EDT after Sunday's change.
    expect(iso(nextLocalTime(at('2026-03-07T00:00:00Z'), '09:00', 'America/New_York', ['mon']))).toBe('2026-03-09T13:00:00.000Z');
    // Friday evening with weekdays only: still Monday; Saturday morning with weekends allowed: that day.
    expect(iso(nextLocalTime(at('2026-03-06T17:00:00Z'), '09:00', 'Europe/Paris', ['mon', 'tue', 'wed', 'thu', 'fri']))).toBe('2026-03-09T08:00:00.000Z');
    expect(iso(nextLocalTime(at('2026-03-07T06:00:00Z'), '09:00', 'Europe/Paris', ['sat', 'sun']))).toBe('2026-03-07T08:00:00.000Z');
    // Monday 10:00, Mondays only: a week later.
    expect(iso(nextLocalTime(at('2026-03-09T09:00:00Z'), '09:00', 'Europe/Paris', ['mon']))).toBe('2026-03-16T08:00:00.000Z');
    // The weekday is the recipient's: Monday 08:00 in Tokyo is still Sunday in UTC.
    expect(iso(nextLocalTime(at('2026-03-07T00:00:00Z'), '08:00', 'Asia/Tokyo', ['mon']))).toBe('2026-03-08T23:00:00.000Z');
  });

  it('rejects an empty weekday list, a bad time and an unknown zone', () => {
    expect(() => nextLocalTime(at('2026-03-06T17:00:00Z'), '09:00', 'Europe/Paris', [])).toThrow(RangeError);
    expect(() => nextLocalTime(at('2026-03-06T17:00:00Z'), '9am', 'Europe/Paris')).toThrow(RangeError);
    expect(() => nextLocalTime(at('2026-03-06T17:00:00Z'), '09:00', 'Europe/Pariss')).toThrow(RangeError);
  });
});

describe('quietUntil', () => {
  const night = { from: '21:00', to: '08:00' };

  it.each([
    ['2026-01-10T22:30:00Z', night, '2026-01-11T07:00:00.000Z'], // 23:30 -> 08:00 the next morning
    ['2026-01-11T06:00:00Z', night, '2026-01-11T07:00:00.000Z'], // 07:00 -> 08:00 the same morning
    ['2026-01-10T20:00:00Z', night, '2026-01-11T07:00:00.000Z'], // 21:00 sharp is quiet
    ['2026-01-11T07:00:00Z', night, null], // 08:00 sharp is not
    ['2026-01-11T12:00:00Z', night, null],
    ['2026-03-28T21:00:00Z', night, '2026-03-29T06:00:00.000Z'], // 22:00 CET -> 08:00 CEST
    ['2026-01-11T12:30:00Z', { from: '12:00', to: '14:00' }, '2026-01-11T13:00:00.000Z'],
    ['2026-01-11T10:30:00Z', { from: '12:00', to: '14:00' }, null],
    ['2026-01-11T13:00:00Z', { from: '12:00', to: '14:00' }, null],
    ['2026-01-11T12:30:00Z', { from: '13:00', to: '13:00' }, null],
  ])('at %s in Paris with %j: %s', (when, quiet, expected) => {
    expect(iso(quietUntil(at(when), quiet, 'Europe/Paris'))).toBe(expected);
  });

  it('reads the quiet hours in the given zone', () => {
    // 23:00Z is 08:00 in Tokyo (not quiet) but 18:00 in New York (quiet from 17:00).
    expect(quietUntil(at('2026-01-10T23:00:00Z'), night, 'Asia/Tokyo')).toBeNull();
    expect(iso(quietUntil(at('2026-01-10T23:00:00Z'), { from: '17:00', to: '08:00' }, 'America/New_York'))).toBe('2026-01-11T13:00:00.000Z');
  });
});

describe('nextAnniversary', () => {
  it('places the same birthday at different instants in different zones', () => {
    const after = at('2026-01-01T00:00:00Z');
    expect(iso(nextAnniversary(after, '1990-07-15', '09:00', 'Asia/Tokyo', 0))).toBe('2026-07-15T00:00:00.000Z');
    expect(iso(nextAnniversary(after, '1990-07-15', '09:00', 'America/New_York', 0))).toBe('2026-07-15T13:00:00.000Z');
    expect(iso(nextAnniversary(after, '1990-12-15', '09:00', 'America/New_York', 0))).toBe('2026-12-15T14:00:00.000Z');
  });

  it('uses the calendar date of a date-time as written and ignores the year', () => {
    const after = at('2026-01-01T00:00:00Z');
    expect(iso(nextAnniversary(after, '1990-07-15T23:30:00-05:00', '09:00', 'Asia/Tokyo', 0))).toBe('2026-07-15T00:00:00.000Z');
    expect(iso(nextAnniversary(after, '2031-07-15T00:00:00.000Z', '09:00', 'UTC', 0))).toBe('2026-07-15T09:00:00.000Z');
  });

  it('moves on to next year once this year has passed, and returns `after` when it is the instant', () => {
    expect(iso(nextAnniversary(at('2026-07-15T00:00:01Z'), '1990-07-15', '09:00', 'Asia/Tokyo', 0))).toBe('2027-07-15T00:00:00.000Z');
    expect(iso(nextAnniversary(at('2026-07-15T00:00:00Z'), '1990-07-15', '09:00', 'Asia/Tokyo', 0))).toBe('2026-07-15T00:00:00.000Z');
  });

  it('puts Feb 29 on Feb 28 in years without it', () => {
    expect(iso(nextAnniversary(at('2026-01-01T00:00:00Z'), '2000-02-29', '09:00', 'UTC', 0))).toBe('2026-02-28T09:00:00.000Z');
    expect(iso(nextAnniversary(at('2027-03-01T00:00:00Z'), '2000-02-29', '09:00', 'UTC', 0))).toBe('2028-02-29T09:00:00.000Z');
    expect(iso(nextAnniversary(at('2027-03-01T00:00:00Z'), '2000-02-29', '09:00', 'UTC', -1))).toBe('2028-02-28T09:00:00.000Z');
  });

  it('shifts by offsetDays across month and year boundaries', () => {
    // A Jan 1 birthday one day early is Dec 31 of the year before.
    expect(iso(nextAnniversary(at('2026-06-01T00:00:00Z'), '1985-01-01', '10:00', 'UTC', -1))).toBe('2026-12-31T10:00:00.000Z');
    expect(iso(nextAnniversary(at('2026-12-31T10:00:00Z'), '1985-01-01', '10:00', 'UTC', -1))).toBe('2026-12-31T10:00:00.000Z');
    expect(iso(nextAnniversary(at('2026-12-31T10:01:00Z'), '1985-01-01', '10:00', 'UTC', -1))).toBe('2027-12-31T10:00:00.000Z');
    // Dec 31 one day late is Jan 1, including the Jan 1 just after `after`'s year began.
    expect(iso(nextAnniversary(at('2026-01-01T00:00:00Z'), '1985-12-31', '10:00', 'Europe/Paris', 1))).toBe('2026-01-01T09:00:00.000Z');
    // Mar 1 one day early is Feb 29 in a leap year, Feb 28 otherwise.
    expect(iso(nextAnniversary(at('2027-06-01T00:00:00Z'), '1990-03-01', '10:00', 'UTC', -1))).toBe('2028-02-29T10:00:00.000Z');
    expect(iso(nextAnniversary(at('2026-01-01T00:00:00Z'), '1990-03-01', '10:00', 'UTC', -1))).toBe('2026-02-28T10:00:00.000Z');
    // A week before, in the recipient's zone across the spring change.
    expect(iso(nextAnniversary(at('2026-01-01T00:00:00Z'), '1990-04-05', '09:00', 'Europe/Paris', -7))).toBe('2026-03-29T07:00:00.000Z');
  });

  it.each([
    [null],
    [undefined],
    [42],
    [new Date('1990-07-15')],
    [''],
    ['tomorrow'],
    ['1990-02-30'],
    ['1990-13-01'],
    ['15/07/1990'],
    ['1990-7-15'],
    [{ date: '1990-07-15' }],
  ])('gives null for %p', (value) => {
    expect(nextAnniversary(at('2026-01-01T00:00:00Z'), value, '09:00', 'UTC', 0)).toBeNull();
  });
});
