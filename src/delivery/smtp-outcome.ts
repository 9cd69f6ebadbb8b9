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
