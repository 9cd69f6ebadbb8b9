import type { ConsentSource } from './audience.entities';

/** Who asked, how and with what wording: written into the consent ledger with every change. */
export interface ConsentEvidence {
  source: ConsentSource;
  text?: string | null;
  /** The version of the list's consent wording `text` is, when it is the list's own (public form). */
  version?: number | null;
  ip?: string | null;
  userAgent?: string | null;
}
