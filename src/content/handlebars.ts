import Handlebars, { HelperOptions } from 'handlebars';

export type HandlebarsRuntime = typeof Handlebars;

/** Helpers every template may use, besides Handlebars' own (if, unless, each, with, lookup, log). */
export const HELPERS = ['default', 'date', 'number', 'currency', 'uppercase', 'lowercase'] as const;
/** Filled in per recipient by the message builder; templates never write them by hand. */
export const RENDER_HELPERS = ['__link', '__pixel'] as const;
const BUILT_IN = ['if', 'unless', 'each', 'with', 'lookup', 'log', 'blockHelperMissing', 'helperMissing'];
export const KNOWN_HELPERS = new Set<string>([...BUILT_IN, ...HELPERS, ...RENDER_HELPERS]);

interface RenderRoot {
  subscriber?: { timezone?: string | null; attributes?: Record<string, unknown> };
  __links?: (string | Handlebars.SafeString)[];
  __pixel?: string | Handlebars.SafeString;
}

/** A helper's argument as text: nothing for null and undefined, as JavaScript writes anything else. */
function text(value: unknown): string {
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- any value a template passes; Handlebars prints objects the same way
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : String(value);
}

const formats = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat>();
function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat>(key: string, make: () => T): T {
  let f = formats.get(key);
  if (!f) {
    f = make();
    formats.set(key, f);
  }
  return f as T;
}

/**
 * An isolated Handlebars with the platform's helpers. HTML-escaping stays on: `{{x}}` is escaped,
 * only `{{{x}}}` is not. Dates are shown in the subscriber's time zone and locale.
 */
export function createHandlebars(defaultTimezone: string): HandlebarsRuntime {
  const hb = Handlebars.create();
  const root = (o: HelperOptions) => (o.data as { root?: RenderRoot } | undefined)?.root ?? {};
  const locale = (o: HelperOptions) => {
    const l = root(o).subscriber?.attributes?.locale;
    return typeof l === 'string' && /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/.test(l) ? l : 'en';
  };
  const lastIsOptions = (args: unknown[]) => args[args.length - 1] as HelperOptions;

  hb.registerHelper('default', (value: unknown, fallback: unknown) => (value === undefined || value === null || value === '' ? fallback : value));
  hb.registerHelper('uppercase', (value: unknown) => text(value).toUpperCase());
  hb.registerHelper('lowercase', (value: unknown) => text(value).toLowerCase());

  // {{date value}} · {{date value "long"}} · {{date "now" "full"}}: dateStyle short|medium|long|full.
  hb.registerHelper('date', (...args: unknown[]) => {
    const o = lastIsOptions(args);
    const [value, style = 'medium'] = args.slice(0, -1) as [unknown, string?];
    const when = value === 'now' || value === undefined ? new Date() : new Date(value as string | number);
    if (Number.isNaN(when.getTime())) return '';
    const timeZone = root(o).subscriber?.timezone || defaultTimezone;
    const dateStyle = (['short', 'medium', 'long', 'full'].includes(style) ? style : 'medium') as Intl.DateTimeFormatOptions['dateStyle'];
    const lang = locale(o);
    try {
      return cached(`d:${lang}:${timeZone}:${dateStyle}`, () => new Intl.DateTimeFormat(lang, { dateStyle, timeZone })).format(when);
    } catch {
      return when.toISOString().slice(0, 10);
    }
  });

  // {{number value}} · {{number value 2}}
  hb.registerHelper('number', (...args: unknown[]) => {
    const o = lastIsOptions(args);
    const [value, digits] = args.slice(0, -1) as [unknown, number?];
    const n = Number(value);
    if (!Number.isFinite(n)) return '';
    const lang = locale(o);
    const d = typeof digits === 'number' ? Math.min(Math.max(digits, 0), 10) : undefined;
    return cached(`n:${lang}:${d}`, () => new Intl.NumberFormat(lang, d === undefined ? {} : { minimumFractionDigits: d, maximumFractionDigits: d })).format(n);
  });

  // {{currency value "EUR"}}
  hb.registerHelper('currency', (...args: unknown[]) => {
    const o = lastIsOptions(args);
    const [value, code = 'EUR'] = args.slice(0, -1) as [unknown, string?];
    const n = Number(value);
    if (!Number.isFinite(n)) return '';
    const lang = locale(o);
    try {
      return cached(`c:${lang}:${code}`, () => new Intl.NumberFormat(lang, { style: 'currency', currency: String(code) })).format(n);
    } catch {
      return `${n.toFixed(2)} ${String(code)}`;
    }
  });

  hb.registerHelper('__link', (slot: number, o: HelperOptions) => root(o).__links?.[slot] ?? '#');
  hb.registerHelper('__pixel', (o: HelperOptions) => root(o).__pixel ?? '');
  return hb;
}
