import type { IdentifiedProfile, ProfileChange } from '../audience/subscriber-identities.service';
import type { CustomerMessage } from './segment-message';

/**
 * Who a message is about, before the identify calls of its request are applied: a subscriber known
 * already, or an address (found or created). `via` is the userId that led to the address; the
 * message is that subscriber's only if the userId ends up linked to it.
 */
export type Target = { subscriberId: string } | { email: string; via: string | null };

export interface IdentityPlan {
  /** For each message, in order: who it is about, or null (kept unlinked until an identify brings an address). */
  targets: (Target | null)[];
  /** One change per profile, the traits of its identify calls merged in order. */
  changes: ProfileChange[];
}

/** What is linked already: subscriber ids by userId (their external id), and by anonymousId (through earlier events). */
export interface KnownLinks {
  users: Map<string, string>;
  anonymous: Map<string, string>;
}

const MAX_NAME = 500;

/**
 * The identity rules, as a pure function of the request's messages (in order) and what is linked:
 * - a userId linked to a subscriber decides, whatever `traits.email` says: an address changes only
 *   through the subscribers API (a new address has not consented to anything);
 * - otherwise an identify's `traits.email` names the subscriber (created if new), and its userId is
 *   linked to it (the first address a new userId comes with in a request);
 * - otherwise the anonymousId decides: the subscriber an identify of this request, or else the latest
 *   linked event, tied it to;
 * - traits merge into the attributes (shallowly; null removes a key), except `email`, and `name`
 *   (or `firstName` + `lastName`), which fills in a missing name.
 */
export function planIdentities(messages: CustomerMessage[], known: KnownLinks): IdentityPlan {
  const users = new Map<string, string>(); // unlinked userId → the address this request links it to
  const anonymous = new Map<string, Target>();
  for (const m of messages) {
    if (m.type !== 'identify') continue;
    const linked = m.userId !== null ? known.users.get(m.userId) : undefined;
    if (linked !== undefined) {
      if (m.anonymousId !== null) anonymous.set(m.anonymousId, { subscriberId: linked });
    } else if (m.email !== null) {
      if (m.userId !== null && !users.has(m.userId)) users.set(m.userId, m.email);
      if (m.anonymousId !== null) anonymous.set(m.anonymousId, { email: m.email, via: null });
    }
  }

  const targetOf = (m: CustomerMessage): Target | null => {
    if (m.userId !== null) {
      const linked = known.users.get(m.userId);
      if (linked !== undefined) return { subscriberId: linked };
      const email = users.get(m.userId);
      if (email !== undefined) return { email, via: m.type === 'identify' && m.email === email ? null : m.userId };
    }
    if (m.type === 'identify' && m.email !== null) return { email: m.email, via: null };
    if (m.anonymousId !== null) {
      const tied = anonymous.get(m.anonymousId) ?? known.anonymous.get(m.anonymousId);
      if (tied !== undefined) return typeof tied === 'string' ? { subscriberId: tied } : tied;
    }
    return null;
  };
  const targets = messages.map(targetOf);

  const changes = new Map<string, ProfileChange>();
  messages.forEach((m, i) => {
    const target = targets[i];
    if (m.type !== 'identify' || !target) return;
    const key = 'subscriberId' in target ? `id:${target.subscriberId}` : `email:${target.email}`;
    const change = changes.get(key) ?? {
      who: 'subscriberId' in target ? { subscriberId: target.subscriberId } : { email: target.email },
      externalId: null,
      name: null,
      attributes: {},
    };
    if ('email' in target && change.externalId === null && m.userId !== null && users.get(m.userId) === target.email) change.externalId = m.userId;
    change.name = nameOf(m.traits) ?? change.name;
    change.attributes = { ...change.attributes, ...attributesOf(m.traits) };
    changes.set(key, change);
  });
  return { targets, changes: [...changes.values()] };
}

/**
 * Each message's subscriber once the profiles are written: an address reached through a userId
 * counts only if that userId is now the subscriber's external id (else the address belongs to
 * another userId, and the message stays unlinked).
 */
export function resolveTargets(targets: (Target | null)[], profiles: IdentifiedProfile[]): (string | null)[] {
  const byEmail = new Map(profiles.map((p) => [p.email, p]));
  return targets.map((t) => {
    if (!t) return null;
    if ('subscriberId' in t) return t.subscriberId;
    const p = byEmail.get(t.email);
    return p && (t.via === null || p.externalId === t.via) ? p.subscriberId : null;
  });
}

/** `email` and `name` are the subscriber's own fields, not attributes. */
function attributesOf(traits: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(traits).filter(([k]) => k !== 'email' && k !== 'name'));
}

function nameOf(traits: Record<string, unknown>): string | null {
  const given = typeof traits.name === 'string' ? traits.name.trim() : '';
  const parts = [traits.firstName, traits.lastName].filter((p): p is string => typeof p === 'string' && p.trim() !== '');
  const name = given || parts.map((p) => p.trim()).join(' ');
  return name && name.length <= MAX_NAME ? name : null;
}
