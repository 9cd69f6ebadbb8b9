import { addDuration, capAllows, resolveMatch, splitArm } from './step-rules';

describe('journey step rules', () => {
  it('splits the same person the same way every time, in proportion to the weights', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 30_000; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const arm = splitArm(id, 'journey', 'split', [1, 2, 1]);
      expect(splitArm(id, 'journey', 'split', [1, 2, 1])).toBe(arm);
      counts[arm]++;
    }
    expect(counts[0] / 30_000).toBeCloseTo(0.25, 1);
    expect(counts[1] / 30_000).toBeCloseTo(0.5, 1);
    expect(splitArm('x', 'j', 's', [0, 5])).toBe(1);
  });

  it('adds ISO 8601 durations: calendar months and days, exact hours and seconds', () => {
    const jan31 = new Date('2026-01-31T10:00:00Z');
    expect(addDuration(jan31, 'PT2S').toISOString()).toBe('2026-01-31T10:00:02.000Z');
    expect(addDuration(jan31, 'P1D').toISOString()).toBe('2026-02-01T10:00:00.000Z');
    expect(addDuration(jan31, 'P1W2DT3H').toISOString()).toBe('2026-02-09T13:00:00.000Z');
    expect(addDuration(new Date('2026-03-15T00:00:00Z'), 'P1M').toISOString()).toBe('2026-04-15T00:00:00.000Z');
  });

  it('resolves an awaited event’s match from the triggering event', () => {
    expect(resolveMatch({ cartId: '{{trigger.properties.cartId}}', kind: 'web', n: 2 }, { properties: { cartId: 'c-9' } })).toEqual({
      cartId: 'c-9',
      kind: 'web',
      n: 2,
    });
    expect(resolveMatch({ cartId: '{{ trigger.properties.cart.id }}' }, { properties: { cart: { id: 7 } } })).toEqual({ cartId: 7 });
    expect(resolveMatch({ cartId: '{{trigger.properties.missing}}' }, {})).toEqual({ cartId: null });
  });

  it('lets a mail go under the cap, else names the moment it may', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const h = (n: number) => new Date(now.getTime() - n * 3_600_000);
    expect(capAllows([], { max: 1, perHours: 24 }, now)).toBeNull();
    expect(capAllows([h(30)], { max: 1, perHours: 24 }, now)).toBeNull();
    expect(capAllows([h(2)], { max: 1, perHours: 24 }, now)?.toISOString()).toBe('2026-06-02T10:00:00.000Z');
    expect(capAllows([h(5), h(1), h(3)], { max: 2, perHours: 24 }, now)?.toISOString()).toBe('2026-06-02T09:00:00.000Z');
    expect(capAllows([h(5), h(1)], { max: 3, perHours: 24 }, now)).toBeNull();
  });
});
