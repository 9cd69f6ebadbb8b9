import { execFileSync } from 'node:child_process';
import { sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSnsEnvelope, SnsEnvelope } from '../../src/delivery/bounces/ses.parser';
import { snsStringToSign } from '../../src/delivery/bounces/sns-verifier';

export const SNS_CERT_URL = 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-01d088a6f77103d0fe307c0069e40ed6.pem';

/** A self-signed certificate made for this run, standing in for the one SNS publishes: the verifier checks real signatures with it. */
export function makeSnsCertificate(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sns-cert-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=sns.amazonaws.com',
      ],
      { stdio: 'ignore' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An SNS envelope signed as SNS signs it: the canonical string with SHA1withRSA (version 1) or SHA256withRSA (version 2). */
export function signSnsEnvelope(fields: Record<string, string>, key: string, version: '1' | '2' = '1'): SnsEnvelope {
  const e = parseSnsEnvelope({ ...fields, SignatureVersion: version, Signature: 'x', SigningCertURL: fields.SigningCertURL ?? SNS_CERT_URL });
  return { ...e, Signature: sign(version === '1' ? 'sha1' : 'sha256', Buffer.from(snsStringToSign(e)), key).toString('base64') };
}
