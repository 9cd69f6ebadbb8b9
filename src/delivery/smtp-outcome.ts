/** What an SMTP attempt means for the message. */
export type SmtpOutcome = { kind: 'hard_bounce'; response: string } | { kind: 'throttled'; response: string } | { kind: 'retry'; response: string };

/**
 * For a failed attempt (a 2xx never throws). 5xx: permanent failure, a hard bounce. 421/454 or a "too many" reply: the server asks
 * us to slow down, which must not burn an attempt. Any other 4xx and every connection error: retry.
 */
export function classify(error: unknown): SmtpOutcome {
  const e = error as { responseCode?: number; response?: string; message?: string; code?: string };
  const response = String(e.response ?? e.message ?? e.code ?? 'error').slice(0, 1000);
  const code = e.responseCode;
  if (code !== undefined && code >= 500 && code < 600) return { kind: 'hard_bounce', response };
  if (code === 421 || code === 454 || /too many|rate limit|try again later/i.test(response)) return { kind: 'throttled', response };
  return { kind: 'retry', response };
}

/** What one SMTP attempt leaves a message with: a final status, or `queued` again with the time of the next attempt. */
export interface AttemptOutcome {
  status: 'sent' | 'failed' | 'queued';
  response: string;
  bounce: 'hard' | 'soft' | null;
  /** Attempts used up, this one included (a throttled one is not counted). */
  attempt: number;
  retryAt: Date | null;
}

/**
 * A failed attempt (the message had used `attempts` before it) as the message's next state: a 5xx
 * fails it as a hard bounce; the server asking us to slow down retries in a second without using an
 * attempt (`throttled`: the caller slows the transport down); anything else retries with
 * exponential backoff until `maxAttempts`, then fails it as a soft bounce.
 */
export function afterFailure(error: unknown, attempts: number, policy: { maxAttempts: number; retryBaseMs: number }): AttemptOutcome & { throttled: boolean } {
  const outcome = classify(error);
  const attempt = attempts + 1;
  const { response } = outcome;
  switch (outcome.kind) {
    case 'hard_bounce':
      return { status: 'failed', response, bounce: 'hard', attempt, retryAt: null, throttled: false };
    case 'throttled':
      return { status: 'queued', response, bounce: null, attempt: attempts, retryAt: new Date(Date.now() + 1_000), throttled: true };
    case 'retry':
      if (attempt >= policy.maxAttempts) return { status: 'failed', response, bounce: 'soft', attempt, retryAt: null, throttled: false };
      return { status: 'queued', response, bounce: null, attempt, retryAt: new Date(Date.now() + policy.retryBaseMs * 2 ** (attempt - 1)), throttled: false };
  }
}
