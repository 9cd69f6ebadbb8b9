import { AbDecision, AbSettings, decide, holm, sampleRatioMismatch, testShareNeeded, VariantCounts } from './ab-decision';

/** Seeded PRNG (mulberry32), so that the simulated rates are the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Sampler {
  private spare: number | null = null;
  constructor(private readonly u: () => number) {}

  gauss(): number {
    if (this.spare !== null) {
      const s = this.spare;
      this.spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.u()));
    const th = 2 * Math.PI * this.u();
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** Binomial(n, p): Poisson for rare events (mean below 20), the normal approximation otherwise. */
  binomial(n: number, p: number): number {
    const mean = n * p;
    if (mean < 20) {
      const limit = Math.exp(-mean);
      let k = 0;
      let prod = this.u();
      while (prod > limit) {
        k++;
        prod *= this.u();
      }
      return Math.min(k, n);
    }
    return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(mean * (1 - p)) * this.gauss())));
  }
}

const GUARD = { unsubscribe: 0.002, complaint: 0.0002, bounce: 0.01 };

interface Arm {
  rate: number;
  unsubscribe?: number;
}

/**
 * One simulated test: recipients arrive evenly over `looks` hours up to `perArm` each, clicks and
 * guardrail events are drawn per hour, and decide() is asked after every hour until it stops.
 */
function simulate(s: Sampler, arms: Arm[], perArm: number, looks: number, settings: AbSettings): AbDecision {
  const counts: VariantCounts[] = arms.map((_, i) => ({
    id: String.fromCharCode(65 + i),
    assigned: 0,
    recipients: 0,
    successes: 0,
    unsubscribes: 0,
    complaints: 0,
    bounces: 0,
  }));
  let last: AbDecision | undefined;
  for (let h = 1; h <= looks; h++) {
    const batch = Math.floor((perArm * h) / looks) - Math.floor((perArm * (h - 1)) / looks);
    arms.forEach((arm, i) => {
      const c = counts[i];
      const bounced = s.binomial(batch, GUARD.bounce);
      const reached = batch - bounced;
      c.assigned += batch;
      c.bounces += bounced;
      c.recipients += reached;
      c.successes += s.binomial(reached, arm.rate);
      c.unsubscribes += s.binomial(reached, arm.unsubscribe ?? GUARD.unsubscribe);
      c.complaints += s.binomial(reached, GUARD.complaint);
    });
    last = decide(counts, settings, h);
    if (last.state !== 'testing') return last;
  }
  return last!;
}

const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

describe('decide: simulated error rates (24 hourly looks, 3 % click rate)', () => {
  const settings: AbSettings = { metric: 'click', maxHours: 24, fallback: 'hold', expectedPerVariant: 20_000 };

  it('A/A: 2,000 experiments looked at every hour name a false winner in at most 5 %', () => {
    const s = new Sampler(mulberry32(1));
    let wins = 0;
    for (let r = 0; r < 2000; r++) if (simulate(s, [{ rate: 0.03 }, { rate: 0.03 }], 20_000, 24, settings).basis === 'significance') wins++;
    const rate = wins / 2000;
    console.log(`A/A, 2,000 runs x 24 looks, 20,000 per arm: false winners ${wins} = ${pct(rate)}`);
    expect(rate).toBeLessThanOrEqual(0.05);
  });

  it('3.0 % vs 3.6 %: measures power at 20,000 per arm and at the size the power helper asks for', () => {
    const helper = testShareNeeded({ baseRate: 0.03, relativeLift: 0.2, variants: 2, audience: 200_000 });
    const lines: string[] = [];
    const rates: Record<number, { better: number; worse: number }> = {};
    for (const perArm of [20_000, helper.perVariant]) {
      const s = new Sampler(mulberry32(perArm));
      const runs = 2000;
      let better = 0;
      let worse = 0;
      for (let r = 0; r < runs; r++) {
        // Half of the runs have the better variant as the control, so both directions are exercised.
        const flip = r % 2 === 1;
        const arms = flip ? [{ rate: 0.036 }, { rate: 0.03 }] : [{ rate: 0.03 }, { rate: 0.036 }];
        const d = simulate(s, arms, perArm, 24, { ...settings, expectedPerVariant: perArm });
        if (d.basis !== 'significance') continue;
        if (d.winner === (flip ? 'A' : 'B')) better++;
        else worse++;
      }
      rates[perArm] = { better: better / runs, worse: worse / runs };
      lines.push(`${perArm.toLocaleString('en-US')} per arm: better wins ${pct(better / runs)}, worse wins ${pct(worse / runs)} (${runs} runs)`);
    }
    console.log(`3.0 % vs 3.6 %, 24 looks, tuned to the planned size:\n  ${lines.join('\n  ')}`);
    // The requirement: at 20,000 per arm the better variant wins in at least 80 %, the worse in at most 1 %.
    // The one-sided linear boundary asks z ≥ 2.45 at the planned size; the expected z there is 3.35.
    expect(rates[20_000].better).toBeGreaterThanOrEqual(0.8);
    expect(rates[20_000].worse).toBeLessThanOrEqual(0.01);
    expect(rates[helper.perVariant].better).toBeGreaterThanOrEqual(0.8);
    expect(rates[helper.perVariant].worse).toBeLessThanOrEqual(0.01);
  });
});

/** Counts for a variant reached in full (no bounces) with typical guardrail rates unless given. */
function counts(id: string, recipients: number, successes: number, extra: Partial<VariantCounts> = {}): VariantCounts {
  return {
    id,
    assigned: recipients,
    recipients,
    successes,
    unsubscribes: Math.round(recipients * 0.002),
    complaints: Math.round(recipients * 0.0002),
    bounces: 0,
    ...extra,
  };
}

describe('decide: decisions and their wording', () => {
  const settings: AbSettings = { metric: 'click', maxHours: 24, fallback: 'hold', expectedPerVariant: 20_000 };

  it('names the winner, both rates and the always-valid interval of the lift', () => {
    const d = decide([counts('A', 20_000, 600), counts('B', 20_000, 720)], settings, 10);
    expect(d).toMatchObject({ state: 'decided', winner: 'B', basis: 'significance' });
    expect(d.reason).toMatch(
      /^B beat A on unique human clicks: 3\.6 % vs 3\.0 % \(always-valid 90 % interval of the lift \+\d+\.?\d* % to \+\d+ %\) after 20,000 recipients per variant\.$/,
    );
    console.log(`Example reason: ${d.reason}`);
    const b = d.variants[1];
    expect(b).toMatchObject({ id: 'B', sent: 20_000, successes: 720 });
    expect(b.metric.value).toBeCloseTo(0.036, 10);
    expect(b.metric.low).toBeLessThan(0.036);
    expect(b.metric.high).toBeGreaterThan(0.036);
    expect(b.vsControl!.lift!.low).toBeGreaterThan(0);
    expect(b.vsControl!.lift!.value).toBeCloseTo(0.2, 10);
    expect(d.variants[0].vsControl).toBeUndefined();
  });

  it('the control wins when the variant is significantly worse, and the same numbers one way round mirror the other', () => {
    const d = decide([counts('A', 20_000, 720), counts('B', 20_000, 600)], settings, 10);
    expect(d).toMatchObject({ state: 'decided', winner: 'A', basis: 'significance' });
    expect(d.reason).toMatch(/^A beat B on unique human clicks: 3\.6 % vs B 3\.0 %, lift -\d+ % to -\d+\.?\d* %/);
    const up = decide([counts('A', 20_000, 600), counts('B', 20_000, 720)], settings, 10).variants[1].vsControl!;
    const down = d.variants[1].vsControl!;
    expect(down.pValue).toBeCloseTo(up.pValue, 12); // the log-ratio statistic is symmetric
  });

  it('keeps testing while the interval still contains 0, and says how it stands', () => {
    const d = decide([counts('A', 20_000, 600), counts('B', 20_000, 640)], settings, 10);
    expect(d.state).toBe('testing');
    expect(d.winner).toBeUndefined();
    expect(d.reason).toMatch(/^No winner on unique human clicks yet; B vs A: 3\.2 % vs 3\.0 %, always-valid 90 % interval of the lift -\d/);
  });

  it('makes no decision before the minimum sample per variant, however large the difference', () => {
    const d = decide([counts('A', 900, 9), counts('B', 900, 90)], { ...settings, minPerVariant: 1_000 }, 2);
    expect(d.state).toBe('testing');
    expect(d.reason).toBe('Waiting for at least 1,000 recipients per variant (so far A 900, B 900).');
  });

  it('a variant better on clicks but with significantly more unsubscribes never wins, neither by test nor by fallback', () => {
    const bad = counts('B', 20_000, 800, { unsubscribes: 120 });
    const d = decide([counts('A', 20_000, 600), bad], { ...settings, fallback: 'leader' }, 10);
    expect(d.state).toBe('testing');
    expect(d.variants[1].vsControl!.significant).toBe('better');
    expect(d.variants[1].vsControl!.failedGuardrails).toEqual(['unsubscribes']);
    expect(d.reason).toContain('B cannot win: significantly more unsubscribes (0.60 % vs 0.20 %) than A.');
    const late = decide([counts('A', 20_000, 600), bad], { ...settings, fallback: 'leader' }, 24);
    expect(late).toMatchObject({ state: 'decided', winner: 'A', basis: 'fallback' });

    // Simulated, looked at every hour with fallback 'leader': +20 % clicks with 1 % unsubscribes against 0.2 %.
    const s = new Sampler(mulberry32(3));
    const winsOf = (unsubscribe: number, guardrailAlpha: number | undefined, runs: number) => {
      let wins = 0;
      for (let r = 0; r < runs; r++) {
        const e = simulate(s, [{ rate: 0.03 }, { rate: 0.036, unsubscribe }], 20_000, 24, { ...settings, fallback: 'leader', guardrailAlpha });
        // Whatever the rates, a winner never has a failing guardrail at the look it wins.
        if (e.winner === 'B') expect(e.variants[1].vsControl!.failedGuardrails).toEqual([]);
        if (e.winner === 'B') wins++;
      }
      return wins;
    };
    const clear = winsOf(0.01, undefined, 300);
    // A doubled rate (0.4 %) is often not yet significant when the click lift already is: measured, not hidden.
    const doubled = winsOf(0.004, undefined, 300);
    const doubledStrict = winsOf(0.004, 0.2, 300);
    console.log(
      `+20 % clicks with more unsubscribes, 300 simulated tests each: 1 % vs 0.2 %: B won ${clear}; ` +
        `0.4 % vs 0.2 %: B won ${doubled} (guardrailAlpha 0.05), ${doubledStrict} (guardrailAlpha 0.2)`,
    );
    expect(clear).toBe(0);
    expect(doubledStrict).toBeLessThan(doubled);
  });

  it('complaints and bounces are guardrails too (bounces per recipient assigned)', () => {
    const d = decide(
      [counts('A', 20_000, 600, { assigned: 20_200, bounces: 200 }), counts('B', 20_000, 800, { assigned: 20_400, bounces: 400, complaints: 30 })],
      settings,
      10,
    );
    expect(d.variants[1].vsControl!.failedGuardrails).toEqual(['complaints', 'bounces']);
    expect(d.state).toBe('testing');
  });

  it('a sample-ratio mismatch (10,000 vs 9,000 assigned) blocks the decision, the fallback included', () => {
    const vs = [counts('A', 9_000, 270, { assigned: 9_000 }), counts('B', 10_000, 500, { assigned: 10_000 })];
    const srm = sampleRatioMismatch([10_000, 9_000]);
    expect(srm.chiSquare).toBeCloseTo(52.63, 2);
    expect(srm.pValue).toBeLessThan(1e-12);
    const d = decide(vs, settings, 10);
    expect(d.state).toBe('testing');
    expect(d.srm.mismatch).toBe(true);
    expect(d.reason).toMatch(/^Sample-ratio mismatch: the assigned counts \(A 9,000, B 10,000\)/);
    const late = decide(vs, { ...settings, fallback: 'control' }, 30);
    expect(late.state).toBe('testing');
    expect(late.reason).toContain('not even the fallback');
    // A split that is merely a little uneven passes.
    expect(sampleRatioMismatch([10_000, 9_900]).mismatch).toBe(false);
  });

  it("Holm's step-down rejects what Bonferroni would and sometimes more", () => {
    expect(holm([0.01, 0.04, 0.03], 0.05).rejected).toEqual([true, false, false]);
    expect(holm([0.01, 0.02, 0.04], 0.05)).toEqual({ rejected: [true, true, true], levels: [0.05 / 3, 0.025, 0.05] });
    expect(holm([0.2, 0.01], 0.05).rejected).toEqual([false, true]);
  });

  it('with four variants: each is compared with the control, the best significant one wins, and the interval is Holm-adjusted', () => {
    const vs = [counts('A', 20_000, 600), counts('B', 20_000, 620), counts('C', 20_000, 760), counts('D', 20_000, 740)];
    const d = decide(vs, settings, 12);
    expect(d).toMatchObject({ state: 'decided', winner: 'C', basis: 'significance' });
    expect(d.reason).toMatch(
      /^C beat A on unique human clicks: 3\.8 % vs 3\.0 % \(always-valid 96\.7 % interval of the lift .*, Holm-adjusted for 3 comparisons\)/,
    );
    expect(d.reason).toContain('D (3.7 %) also beat A, but C is ahead.');
    expect(d.variants.map((v) => v.vsControl?.significant ?? null)).toEqual([null, null, 'better', 'better']);
    // A lift that two variants could show on their own is not enough among three comparisons.
    const single = decide([counts('A', 20_000, 600), counts('B', 20_000, 690)], settings, 12);
    const among = decide([counts('A', 20_000, 600), counts('B', 20_000, 690), counts('C', 20_000, 600), counts('D', 20_000, 610)], settings, 12);
    expect(single.state).toBe('decided');
    expect(among.state).toBe('testing');
  });

  it('A/A/A/A: 500 simulated four-variant tests looked at every hour keep the family-wise false winner rate under 5 %', () => {
    const s = new Sampler(mulberry32(4));
    let wins = 0;
    const arm = { rate: 0.03 };
    for (let r = 0; r < 500; r++) if (simulate(s, [arm, arm, arm, arm], 20_000, 24, settings).basis === 'significance') wins++;
    console.log(`A/A/A/A, 500 runs x 24 looks: false winners ${wins} = ${pct(wins / 500)}`);
    expect(wins / 500).toBeLessThanOrEqual(0.05);
  });

  describe('at maxHours without a decision', () => {
    const vs = [counts('A', 20_000, 600), counts('B', 20_000, 640), counts('C', 20_000, 660, { unsubscribes: 120 })];

    it("'control' sends the control", () => {
      const d = decide(vs, { ...settings, fallback: 'control' }, 24);
      expect(d).toMatchObject({ state: 'decided', winner: 'A', basis: 'fallback' });
      expect(d.reason).toMatch(/^No winner on unique human clicks after 24 h; falling back to the control A\./);
    });

    it("'leader' sends the best estimate among the variants that pass the guardrails", () => {
      const d = decide(vs, { ...settings, fallback: 'leader' }, 25);
      expect(d).toMatchObject({ state: 'decided', winner: 'B', basis: 'fallback' });
      expect(d.reason).toContain('falling back to the leader B (3.2 % vs 3.0 %, not a significant result)');
      expect(d.reason).toContain('C cannot win');
    });

    it("'hold' is inconclusive and names no winner", () => {
      const d = decide(vs, { ...settings, fallback: 'hold' }, 24);
      expect(d.state).toBe('inconclusive');
      expect(d.winner).toBeUndefined();
    });

    it('applies even when the minimum sample was never reached', () => {
      const d = decide([counts('A', 500, 15), counts('B', 500, 30)], { ...settings, fallback: 'leader' }, 24);
      expect(d).toMatchObject({ state: 'decided', winner: 'B', basis: 'fallback' });
    });

    it('does not override a significant result', () => {
      expect(decide([counts('A', 20_000, 600), counts('B', 20_000, 720)], { ...settings, fallback: 'control' }, 24)).toMatchObject({
        winner: 'B',
        basis: 'significance',
      });
    });
  });

  it('revenue per recipient uses the sums; opens come with a warning', () => {
    // 20,000 recipients each; 2 % buy, for 50 (A) or 70 (B).
    const rev = (id: string, buyers: number, price: number) => counts(id, 20_000, buyers, { sum: buyers * price, sumSquares: buyers * price * price });
    const d = decide([rev('A', 400, 50), rev('B', 400, 70)], { ...settings, metric: 'revenue' }, 10);
    expect(d.variants[1]).toMatchObject({ value: 28_000, successes: 20_000 });
    expect(d.variants[1].metric.value).toBeCloseTo(1.4, 10);
    expect(d).toMatchObject({ state: 'decided', winner: 'B' });
    expect(d.reason).toMatch(/^B beat A on revenue per recipient: 1\.40 vs 1\.00 \(always-valid 90 %/);
    expect(d.warnings).toEqual([]);

    const opens = decide([counts('A', 20_000, 5_000), counts('B', 20_000, 5_100)], { ...settings, metric: 'open' }, 10);
    expect(opens.warnings[0]).toMatch(/Opens are a weak signal/);
    expect(opens.reason).toContain('human opens');
  });

  it('rejects impossible input', () => {
    expect(() => decide([counts('A', 10, 1)], settings, 1)).toThrow(RangeError);
    expect(() => decide([counts('A', 10, 1), counts('A', 10, 1)], settings, 1)).toThrow(/distinct/);
    expect(() => decide([counts('A', 10, 1), counts('B', 10, 11)], settings, 1)).toThrow(/more successes/);
    expect(() => decide([counts('A', 10, 1), counts('B', 10, 1, { assigned: 5 })], settings, 1)).toThrow(/more recipients/);
    expect(() => decide([counts('A', 10, 1), counts('B', 10, 1)], { ...settings, metric: 'revenue' }, 1)).toThrow(/sumSquares/);
    expect(() =>
      decide(
        Array.from({ length: 9 }, (_, i) => counts(String(i), 10, 1)),
        settings,
        1,
      ),
    ).toThrow(/2 to 8/);
  });
});
