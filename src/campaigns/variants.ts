import type { AbFallback, AbMetric } from '../experiments/ab-decision';
import type { AbTestDto, VariantDto } from './dto/campaign.dto';

export type { AbFallback, AbMetric };

/**
 * A campaign's variants (A/B tests). Each recipient's variant is chosen deterministically from the
 * campaign and subscriber ids and stored on the message when the audience is frozen:
 *   u = the first 32 bits of md5("<campaign id>:<subscriber id>") / 2³², uniform on [0, 1);
 *   without an A/B test the variants split the audience evenly: variant ⌊u·k⌋;
 *   with one, recipients with u < testShare form the test and get variant ⌊u/testShare·k⌋, the
 *   others are `held` until the winner is chosen, and then get the winner.
 * The same recipient lands in the same variant on every rerun, in every process.
 */
export interface VariantSpec {
  name: string;
  subject?: string;
  preheader?: string;
  fromName?: string;
  templateId?: string;
  /** Pinned when sending starts, like the campaign's own template version. */
  templateVersion?: number;
}

export interface AbTestSpec {
  /** Share of the audience in the test, split evenly between the variants; the rest get the winner. */
  testShare: number;
  metric: AbMetric;
  /** Hours after sending starts when the fallback applies if there is no winner by then. */
  maxHours: number;
  fallback: AbFallback;
  /** No decision before every variant has reached this many recipients. */
  minPerVariant: number;
}

export type AbState = 'testing' | 'decided' | 'inconclusive';
export type AbBasis = 'significance' | 'fallback' | 'manual';

export const AB_DEFAULTS = { metric: 'click', maxHours: 24, fallback: 'control', minPerVariant: 1_000 } as const;
export const MAX_VARIANTS = 8;

/** Variant ids are letters: A is the first variant (the control), B the second, … */
export const variantId = (index: number): string => String.fromCharCode(65 + index);

/** The index of a variant id, or -1. */
export function variantIndex(id: string, count: number): number {
  const i = id.length === 1 ? id.charCodeAt(0) - 65 : -1;
  return i >= 0 && i < count ? i : -1;
}

/** Only the fields given (a template version is pinned when sending starts). */
export function variantOf(v: VariantDto): VariantSpec {
  return Object.fromEntries(
    Object.entries({ name: v.name, subject: v.subject, preheader: v.preheader, fromName: v.fromName, templateId: v.templateId }).filter(
      ([, x]) => x !== undefined && x !== null,
    ),
  ) as unknown as VariantSpec;
}

export function abTestOf(a: AbTestDto): AbTestSpec {
  return {
    testShare: a.testShare,
    metric: a.metric ?? AB_DEFAULTS.metric,
    maxHours: a.maxHours ?? AB_DEFAULTS.maxHours,
    fallback: a.fallback ?? AB_DEFAULTS.fallback,
    minPerVariant: a.minPerVariant ?? AB_DEFAULTS.minPerVariant,
  };
}
