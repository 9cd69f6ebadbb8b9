import type { ConsentSource } from './audience.entities';

/** Who asked, how and with what wording: written into the consent ledger with every change. */
export interface ConsentEvidence {
  source: ConsentSource;
  text?: string | null;
  ip?: string | null;
  userAgent?: string | null;
}
