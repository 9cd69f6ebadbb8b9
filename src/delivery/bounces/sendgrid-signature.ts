import { verify } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../common/errors';

export const SIGNATURE_HEADER = 'x-twilio-email-event-webhook-signature';
export const TIMESTAMP_HEADER = 'x-twilio-email-event-webhook-timestamp';

/**
 * SendGrid's signed Event Webhook: an ECDSA P-256 signature (base64 DER) over SHA-256 of the
 * timestamp header followed by the body's exact bytes — hence the raw body, not re-serialised JSON.
 */
export function verifySendgridSignature(publicKeyPem: string, headers: IncomingHttpHeaders, rawBody: Buffer): void {
  const signature = headers[SIGNATURE_HEADER];
  const timestamp = headers[TIMESTAMP_HEADER];
  if (typeof signature !== 'string' || !signature || typeof timestamp !== 'string' || !timestamp) {
    throw rejected('X-Twilio-Email-Event-Webhook-Signature', 'the signature and timestamp headers are required (signed Event Webhook)');
  }
  let valid: boolean;
  try {
    valid = verify('sha256', Buffer.concat([Buffer.from(timestamp, 'utf8'), rawBody]), publicKeyPem, Buffer.from(signature, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) throw rejected('X-Twilio-Email-Event-Webhook-Signature', 'does not verify with SENDGRID_WEBHOOK_PUBLIC_KEY');
}

function rejected(field: string, message: string): AppError {
  return new AppError('forbidden', `not a genuine SendGrid post: ${field} ${message}`, [{ field, message }]);
}
