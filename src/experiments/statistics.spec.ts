import { testShareNeeded } from './ab-decision';
import { chiSquareSurvival, normalCdf, normalQuantile } from './distributions';
import { alwaysValidPValue, linearBoundary, linearPValue, linearTuning, mixtureHalfWidthFactor, mixtureTuning, oneSidedAlwaysValidPValue } from './mixture';

describe('distributions', () => {
  it('match reference values of the normal CDF, its quantile and the chi-square tail', () => {
    expect(normalCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316301, 8);
    expect(normalCdf(-10) / 7.61985302416047e-24).toBeCloseTo(1, 5); // relative accuracy in the far tail
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963985, 6);
    expect(normalQuantile(0.8)).toBeCloseTo(0.8416212335729143, 6);
    expect(normalQuantile(1e-6)).toBeCloseTo(-4.753424308822899, 5);
    expect(chiSquareSurvival(3.841458820694124, 1)).toBeCloseTo(0.05, 6);
    expect(chiSquareSurvival(16.26623619623813, 3)).toBeCloseTo(0.001, 7);
    expect(chiSquareSurvival(52.63157894736842, 1) / 4.023672190684225e-13).toBeCloseTo(1, 5);
    expect(chiSquareSurvival(1, 7)).toBeCloseTo(0.99482854, 7);
  });

  it('the mixture p-value is below α exactly where the always-valid interval excludes 0', () => {
    const x = mixtureTuning(0.05);
    const b = mixtureHalfWidthFactor(0.05, x);
    expect(b).toBeGreaterThan(3); // the price of looking at any time: about 3.03 instead of 1.96
    expect(alwaysValidPValue(b, x)).toBeCloseTo(0.05, 10);
    expect(alwaysValidPValue(b + 0.01, x)).toBeLessThan(0.05);
    expect(oneSidedAlwaysValidPValue(-b, x)).toBe(1);
    expect(oneSidedAlwaysValidPValue(b, x)).toBeLessThan(0.05); // mixing over one direction only is stronger there
  });

  it('the one-sided linear boundary is tightest at the planned size, where its p-value is α exactly at the boundary', () => {
    const x = linearTuning(0.05);
    const b = linearBoundary(0.05, x);
    expect(b).toBeCloseTo(Math.sqrt(2 * Math.log(20)), 12); // 2.45, against 3.03 for the two-sided normal mixture
    expect(linearPValue(b, x)).toBeCloseTo(0.05, 12);
    expect(linearPValue(b + 0.01, x)).toBeLessThan(0.05);
    expect(linearPValue(-b, x)).toBe(1);
    // Higher before and after the planned size, still finite: valid at every size.
    expect(linearBoundary(0.05, x / 4)).toBeGreaterThan(b + 0.5);
    expect(linearBoundary(0.05, 4 * x)).toBeGreaterThan(b + 0.5);
  });
});

describe('testShareNeeded', () => {
  it('matches the textbook fixed-horizon size and asks more for the always-valid test', () => {
    // Fleiss (no continuity correction), 3 % vs 3.6 %, α = 0.05 one-sided, power 0.8.
    const r = testShareNeeded({ baseRate: 0.03, relativeLift: 0.2, variants: 2, audience: 200_000 });
    expect(r.fixedHorizonPerVariant).toBeGreaterThanOrEqual(10_957);
    expect(r.fixedHorizonPerVariant).toBeLessThanOrEqual(10_963);
    expect(r.perVariant).toBeGreaterThan(1.5 * r.fixedHorizonPerVariant);
    expect(r.perVariant).toBeLessThan(2.5 * r.fixedHorizonPerVariant);
    expect(r.testShare).toBeCloseTo((2 * r.perVariant) / 200_000, 12);
    expect(r.feasible).toBe(true);
    console.log(`Power helper, 3 % base, +20 %, 2 variants: ${r.perVariant} per variant always-valid, ${r.fixedHorizonPerVariant} fixed-horizon`);
  });

  it('grows with the number of variants, shrinks with the lift, and says when the audience is too small', () => {
    const base = { baseRate: 0.03, relativeLift: 0.2, audience: 70_000 };
    const two = testShareNeeded({ ...base, variants: 2 });
    const four = testShareNeeded({ ...base, variants: 4 });
    expect(four.perVariant).toBeGreaterThan(two.perVariant);
    expect(four.testShare).toBe(1);
    expect(four.feasible).toBe(false);
    expect(testShareNeeded({ ...base, variants: 2, relativeLift: 0.4 }).perVariant).toBeLessThan(two.perVariant / 3);
    expect(testShareNeeded({ ...base, variants: 2, power: 0.9 }).perVariant).toBeGreaterThan(two.perVariant);
    expect(() => testShareNeeded({ ...base, variants: 2, baseRate: 0 })).toThrow(RangeError);
  });
});
