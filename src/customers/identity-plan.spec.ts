import { planIdentities, resolveTargets } from './identity-plan';
import type { CustomerMessage, IdentifyMessage, TrackMessage } from './segment-message';

const base = { userId: null, anonymousId: null, at: null, context: null };
let n = 0;
const identify = (m: Partial<IdentifyMessage>): IdentifyMessage => ({ ...base, type: 'identify', messageId: `m${++n}`, traits: {}, email: null, ...m });
const track = (m: Partial<TrackMessage>): TrackMessage => ({ ...base, type: 'track', messageId: `m${++n}`, event: 'E', properties: {}, ...m });
const none = { users: new Map<string, string>(), anonymous: new Map<string, string>() };

describe('planIdentities', () => {
  it('links a new userId to the address of its identify, for every message of the request', () => {
    const messages: CustomerMessage[] = [
      track({ userId: 'u1' }),
      identify({ userId: 'u1', email: 'ada@example.com', traits: { email: 'ada@example.com', name: 'Ada', plan: 'pro' } }),
      identify({ userId: 'u1', traits: { plan: 'team', seats: null } }),
    ];
    const plan = planIdentities(messages, none);
    expect(plan.targets).toEqual([
      { email: 'ada@example.com', via: 'u1' },
      { email: 'ada@example.com', via: null },
      { email: 'ada@example.com', via: 'u1' },
    ]);
    expect(plan.changes).toEqual([{ who: { email: 'ada@example.com' }, externalId: 'u1', name: 'Ada', attributes: { plan: 'team', seats: null } }]);
    // The userId became the subscriber's external id: all three are hers.
    expect(resolveTargets(plan.targets, [{ subscriberId: 's1', email: 'ada@example.com', externalId: 'u1' }])).toEqual(['s1', 's1', 's1']);
    // The address already belongs to another userId: only the identify that named it is hers.
    expect(resolveTargets(plan.targets, [{ subscriberId: 's1', email: 'ada@example.com', externalId: 'u0' }])).toEqual([null, 's1', null]);
  });

  it('lets a linked userId decide over traits.email, and never changes the address', () => {
    const known = { users: new Map([['u1', 's1']]), anonymous: new Map<string, string>() };
    const plan = planIdentities([identify({ userId: 'u1', email: 'new@example.com', traits: { email: 'new@example.com', plan: 'pro' } })], known);
    expect(plan.targets).toEqual([{ subscriberId: 's1' }]);
    expect(plan.changes).toEqual([{ who: { subscriberId: 's1' }, externalId: null, name: null, attributes: { plan: 'pro' } }]);
  });

  it('keeps an unknown userId without an address unlinked, and changes no profile for it', () => {
    const plan = planIdentities([track({ userId: 'ghost' }), identify({ userId: 'ghost', traits: { plan: 'x' } })], none);
    expect(plan.targets).toEqual([null, null]);
    expect(plan.changes).toEqual([]);
  });

  it('ties an anonymousId to the address an identify gives it, and else to the subscriber it was tied to before', () => {
    const known = { users: new Map<string, string>(), anonymous: new Map([['a2', 's2']]) };
    const plan = planIdentities(
      [track({ anonymousId: 'a1' }), identify({ anonymousId: 'a1', email: 'bob@example.com' }), track({ anonymousId: 'a2' }), track({ anonymousId: 'a3' })],
      known,
    );
    expect(plan.targets).toEqual([{ email: 'bob@example.com', via: null }, { email: 'bob@example.com', via: null }, { subscriberId: 's2' }, null]);
  });

  it('gives a new userId the first address it comes with; a second address is another person', () => {
    const plan = planIdentities(
      [identify({ userId: 'u', email: 'a@example.com' }), identify({ userId: 'u', email: 'b@example.com', traits: { email: 'b@example.com', x: 1 } })],
      none,
    );
    expect(plan.targets).toEqual([
      { email: 'a@example.com', via: null },
      { email: 'a@example.com', via: 'u' },
    ]);
    expect(plan.changes).toEqual([{ who: { email: 'a@example.com' }, externalId: 'u', name: null, attributes: { x: 1 } }]);
  });

  it('makes a name of firstName and lastName when there is no name trait, and keeps them as attributes', () => {
    const plan = planIdentities([identify({ email: 'c@example.com', traits: { firstName: 'Grace', lastName: 'Hopper' }, anonymousId: 'a' })], none);
    expect(plan.changes[0]).toMatchObject({ name: 'Grace Hopper', attributes: { firstName: 'Grace', lastName: 'Hopper' } });
  });
});
