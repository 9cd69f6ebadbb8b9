/**
 * What bench/report seeds, as arithmetic on the message's rank k (1…sent, in message id order) and
 * the subscriber's rank i (1…messages, in insertion order): seed.ts writes the raw events with these
 * very formulas in SQL, and `truth` counts here, independently of Postgres, what the report must
 * then show. h = k·7919 mod 100,000 spreads every class evenly over the campaign.
 */

export const LINKS = 4;
export const HOUR = 3_600_000;
/** The campaign's attribution window (hours): orders later than this after their click are unattributed. */
export const WINDOW_HOURS = 24;
/** Messages were sent over the first 12 hours after the campaign started, 72 hours ago. */
export const SEND_SPAN_MS = 12 * HOUR;
export const AGE_MS = 72 * HOUR;
/** Repeat opens are spread evenly between these times after the start (after every first open). */
export const REPEATS_FROM_MS = 23 * HOUR;
export const REPEATS_SPAN_MS = 46 * HOUR;

/** The classes of a message by h (SQL: the same bounds in seed.ts). */
export const h = (k: number) => (k * 7919) % 100_000;
export const humanOpener = (x: number) => x < 30_000; // opens the mail itself
export const machineOnly = (x: number) => x >= 30_000 && x < 45_000; // Apple / Gmail proxy fetches only
export const humanClicker = (x: number) => x < 8_000; // 1–3 clicks two minutes after the first open
export const clicksWithoutPixel = (x: number) => x >= 45_000 && x < 47_000; // images off: clicks, no pixel
export const scanned = (x: number) => (x >= 47_000 && x < 49_000) || x < 1_000; // a gateway follows every link 3 s after delivery
export const converts = (x: number) => x < 2_000; // an order within the window (USD below 200, else EUR)
export const reportedTwice = (x: number) => x < 100; // the same order reported again a minute later
export const convertsLate = (x: number) => x >= 2_000 && x < 2_300; // an order 30 h after the click
export const unsubscribes = (x: number) => (x >= 49_000 && x < 49_300) || (x >= 29_000 && x < 29_200);
export const complains = (x: number) => x >= 29_800 && x < 29_830;
export const hardBounce = (x: number) => x >= 99_000 && x < 99_700;
export const softBounce = (x: number) => x >= 98_200 && x < 99_000; // below 98,300 twice
export const softThenHard = (x: number) => x >= 98_000 && x < 98_200;

/** Number of human clicks of a human clicker, and their slots. */
export const humanClickSlots = (k: number) => Array.from({ length: 1 + (k % 3) }, (_, j) => (j === 1 ? (k + 1) % LINKS : k % LINKS));
export const pixellessClickSlots = (k: number) => Array.from({ length: 1 + (k % 2) }, (_, j) => (k + j) % LINKS);
export const orderValue = (k: number) => 10 + (k % 190);

/** Recipient i's address domain: 70 % at big providers (some by an alias), 30 % at 25,000 company domains. */
export const PROVIDERS: [string, number][] = [
  ['gmail.com', 300],
  ['googlemail.com', 10],
  ['outlook.com', 90],
  ['hotmail.com', 50],
  ['live.com', 10],
  ['yahoo.com', 70],
  ['ymail.com', 5],
  ['icloud.com', 45],
  ['me.com', 5],
  ['aol.com', 20],
  ['gmx.de', 30],
  ['web.de', 20],
  ['orange.fr', 20],
  ['free.fr', 10],
  ['t-online.de', 15],
];
/** Per mille of i·4099 mod 1000: the first 700 by PROVIDERS' weights, the rest a company. */
export function domainOf(i: number): string {
  let d = (i * 4099) % 1000;
  for (const [name, weight] of PROVIDERS) {
    if (d < weight) return name;
    d -= weight;
  }
  return `corp${i % 25_000}.example`;
}

export interface Truth {
  sent: number;
  /** Events other than repeat opens (the repeat opens make up the rest of EVENTS). */
  structured: number;
  opensFirst: number;
  opens: number;
  uniqueOpens: number;
  uniqueHumanOpens: number;
  clicks: number;
  uniqueClicks: number;
  uniqueHumanClicks: number;
  conversions: number;
  uniqueConversions: number;
  unattributed: number;
  revenue: { EUR: number; USD: number };
  unsubscribes: number;
  complaints: number;
  hardBounces: number;
  softBounces: number;
  links: { clicks: number; unique: number; uniqueHuman: number }[];
  openers: number;
}

/** What the seeded events of `sent` messages amount to, by the rules of DESIGN.md (counted here, not read back). */
export function truth(sent: number, events: number): Truth {
  const t: Truth = {
    sent,
    structured: 0,
    opensFirst: 0,
    opens: 0,
    uniqueOpens: 0,
    uniqueHumanOpens: 0,
    clicks: 0,
    uniqueClicks: 0,
    uniqueHumanClicks: 0,
    conversions: 0,
    uniqueConversions: 0,
    unattributed: 0,
    revenue: { EUR: 0, USD: 0 },
    unsubscribes: 0,
    complaints: 0,
    hardBounces: 0,
    softBounces: 0,
    links: Array.from({ length: LINKS }, () => ({ clicks: 0, unique: 0, uniqueHuman: 0 })),
    openers: 0,
  };
  let n = 0;
  for (let k = 1; k <= sent; k++) {
    const x = h(k);
    const human = new Set<number>();
    const any = new Set<number>();
    const click = (slot: number, isHuman: boolean) => {
      n++;
      t.clicks++;
      t.links[slot].clicks++;
      any.add(slot);
      if (isHuman) human.add(slot);
    };
    if (humanOpener(x) || machineOnly(x)) {
      n++;
      t.opensFirst++;
      t.openers++;
    }
    if (humanClicker(x)) for (const s of humanClickSlots(k)) click(s, true);
    if (clicksWithoutPixel(x)) for (const s of pixellessClickSlots(k)) click(s, true);
    if (scanned(x)) for (let s = 0; s < LINKS; s++) click(s, false);
    for (const s of any) t.links[s].unique++;
    for (const s of human) t.links[s].uniqueHuman++;
    if (humanOpener(x) || machineOnly(x) || any.size) t.uniqueOpens++;
    if (humanOpener(x) || human.size) t.uniqueHumanOpens++;
    if (any.size) t.uniqueClicks++;
    if (human.size) t.uniqueHumanClicks++;
    if (converts(x)) {
      n += reportedTwice(x) ? 2 : 1;
      t.conversions++;
      t.uniqueConversions++;
      t.revenue[x < 200 ? 'USD' : 'EUR'] += orderValue(k);
    }
    if (convertsLate(x)) {
      n++;
      t.unattributed++;
    }
    if (unsubscribes(x)) {
      n++;
      t.unsubscribes++;
    }
    if (complains(x)) {
      n++;
      t.complaints++;
    }
    if (hardBounce(x)) {
      n++;
      t.hardBounces++;
    }
    if (softBounce(x)) {
      n += x < 98_300 ? 2 : 1;
      t.softBounces++;
    }
    if (softThenHard(x)) {
      n += 2;
      t.hardBounces++;
    }
  }
  t.structured = n;
  t.opens = t.opensFirst + (events - n);
  return t;
}
