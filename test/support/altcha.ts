/*
 * Solves an ALTCHA (v2) challenge the way the browser widget does, and returns what it would post.
 * require() for the reason given in src/audience/form-challenge.ts (node10 resolution cannot see the types).
 */
type AltchaLib = typeof import('altcha-lib/dist/cjs/v2/index');
type Pbkdf2 = typeof import('altcha-lib/dist/cjs/v2/algorithms/pbkdf2');
type Challenge = import('altcha-lib/dist/cjs/v2/types').Challenge;
type Solution = import('altcha-lib/dist/cjs/v2/types').Solution;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { solveChallenge } = require('altcha-lib') as AltchaLib;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { deriveKey } = require('altcha-lib/algorithms/pbkdf2') as Pbkdf2;

/** Like the widget's workers: interleaved counters. 4 matches libuv's default pool, where pbkdf2 runs. */
const SOLVERS = 4;

export async function solveAltcha(challenge: object): Promise<string> {
  const { parameters, signature } = challenge as Challenge;
  const controller = new AbortController();
  const found = await Promise.all(
    Array.from({ length: SOLVERS }, async (_, i): Promise<Solution | null> => {
      const solution = await solveChallenge({
        challenge: { parameters, signature },
        deriveKey,
        controller,
        counterStart: i,
        counterStep: SOLVERS,
        timeout: 30_000,
      });
      if (solution) controller.abort(); // only one solver's counters contain the answer; stop the rest
      return solution;
    }),
  );
  const solution = found.find((s) => s !== null);
  if (!solution) throw new Error('ALTCHA challenge not solved within 30 s');
  // Byte for byte what the widget sets: btoa(JSON.stringify({ challenge: { parameters, signature }, solution })).
  return Buffer.from(JSON.stringify({ challenge: { parameters, signature }, solution }), 'latin1').toString('base64');
}
