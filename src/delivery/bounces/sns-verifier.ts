import { Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { verify, X509Certificate } from 'node:crypto';
import { AppError } from '../../common/errors';
import type { SnsEnvelope } from './ses.parser';

/** Where SNS keeps its signing certificates and confirms subscriptions: `sns.<region>.amazonaws.com` (`.com.cn` in China). */
const SNS_HOST = /^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$/;
/** SNS signs with a handful of certificates at a time; the bound only stops a flood of URLs growing the cache. */
const MAX_CERTIFICATES = 32;
const MAX_CERTIFICATE_BYTES = 16_384;

/** An https URL on an SNS host (for a certificate, a `.pem` path), on the default port, without credentials. */
export function isSnsUrl(value: string, certificate: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    url.protocol === 'https:' &&
    SNS_HOST.test(url.hostname) &&
    url.port === '' &&
    !url.username &&
    !url.password &&
    (!certificate || url.pathname.endsWith('.pem'))
  );
}

/** The text SNS signs: `Name\nValue\n` for each signed field present, in this (alphabetical) order. */
export function snsStringToSign(e: SnsEnvelope): string {
  const fields =
    e.Type === 'Notification'
      ? (['Message', 'MessageId', 'Subject', 'Timestamp', 'TopicArn', 'Type'] as const)
      : (['Message', 'MessageId', 'SubscribeURL', 'Timestamp', 'Token', 'TopicArn', 'Type'] as const);
  return fields.map((f) => (e[f] === undefined ? '' : `${f}\n${e[f]}\n`)).join('');
}

/**
 * The two requests SNS verification makes to AWS. A provider of its own so that a test replaces it
 * (with a certificate it made, recording the confirmation URL) instead of reaching the network.
 */
@Injectable()
export class SnsHttp {
  async fetchCertificate(url: string): Promise<string> {
    // No redirects: the host was checked, wherever a redirect would lead was not.
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
    const pem = await res.text();
    if (pem.length > MAX_CERTIFICATE_BYTES) throw new Error(`GET ${url}: not a certificate (${pem.length} bytes)`);
    return pem;
  }

  async confirmSubscription(url: string): Promise<void> {
    const res = await fetch(url, { redirect: 'error', signal: AbortSignal.timeout(10_000) });
    await res.text();
    if (!res.ok) throw new Error(`GET ${url} answered ${res.status}`);
  }
}

/**
 * Checks that a post really comes from Amazon SNS: the signature over the envelope's fields
 * (version 1 SHA1withRSA, version 2 SHA256withRSA) with the certificate at SigningCertURL, which
 * must be an SNS URL. Certificates are cached by URL (SNS rotates them by publishing a new URL).
 */
@Injectable()
export class SnsVerifier {
  private readonly logger = new Logger(SnsVerifier.name);
  private readonly certificates = new Map<string, Promise<X509Certificate>>();

  constructor(private readonly http: SnsHttp) {}

  async verify(e: SnsEnvelope): Promise<void> {
    if (!isSnsUrl(e.SigningCertURL, true)) throw rejected('SigningCertURL', 'is not an https://sns.<region>.amazonaws.com/….pem URL');
    const certificate = await this.certificate(e.SigningCertURL);
    const now = Date.now();
    if (Date.parse(certificate.validFrom) > now || Date.parse(certificate.validTo) < now) throw rejected('SigningCertURL', 'the certificate is not valid now');
    let valid: boolean;
    try {
      valid = verify(
        e.SignatureVersion === '1' ? 'sha1' : 'sha256',
        Buffer.from(snsStringToSign(e), 'utf8'),
        certificate.publicKey,
        Buffer.from(e.Signature, 'base64'),
      );
    } catch {
      valid = false;
    }
    if (!valid) throw rejected('Signature', 'does not verify with the SNS certificate');
  }

  /** Confirms a subscription by fetching its SubscribeURL, which must be an SNS URL too. */
  async confirm(e: SnsEnvelope): Promise<void> {
    const url = e.SubscribeURL ?? '';
    if (!isSnsUrl(url, false)) throw rejected('SubscribeURL', 'is not an https://sns.<region>.amazonaws.com/ URL');
    try {
      await this.http.confirmSubscription(url);
    } catch (err) {
      this.logger.warn(`SNS subscription to ${e.TopicArn} not confirmed: ${(err as Error).message}`);
      // 503: SNS tries again later.
      throw new ServiceUnavailableException({
        message: 'could not confirm the SNS subscription; try again',
        details: [{ field: 'SubscribeURL', message: (err as Error).message }],
      });
    }
    this.logger.log(`confirmed the SNS subscription to ${e.TopicArn}`);
  }

  private certificate(url: string): Promise<X509Certificate> {
    let pending = this.certificates.get(url);
    if (!pending) {
      if (this.certificates.size >= MAX_CERTIFICATES) this.certificates.delete(this.certificates.keys().next().value!);
      pending = this.load(url);
      this.certificates.set(url, pending);
      // A failure is not remembered: the next post fetches again.
      pending.catch(() => this.certificates.delete(url));
    }
    return pending;
  }

  private async load(url: string): Promise<X509Certificate> {
    let pem: string;
    try {
      pem = await this.http.fetchCertificate(url);
    } catch (err) {
      this.logger.warn(`SNS signing certificate not fetched: ${(err as Error).message}`);
      // Not the sender's fault: 503, so that SNS delivers the message again later.
      throw new ServiceUnavailableException({
        message: 'could not fetch the SNS signing certificate; try again',
        details: [{ field: 'SigningCertURL', message: (err as Error).message }],
      });
    }
    try {
      return new X509Certificate(pem);
    } catch {
      throw rejected('SigningCertURL', 'does not hold an X.509 certificate');
    }
  }
}

function rejected(field: string, message: string): AppError {
  return new AppError('forbidden', `not a genuine Amazon SNS message: ${field} ${message}`, [{ field, message }]);
}
