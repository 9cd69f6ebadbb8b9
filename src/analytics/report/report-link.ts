import { bytesToUuid, TokenSigner, uuidToBytes } from '../../common/tokens';

/** What a genuine report link names: the campaign, and until when it may be read. */
export interface ReportGrant {
  campaignId: string;
  /** Epoch seconds. */
  expires: number;
}

/**
 * A shared report's token: the campaign id (16 bytes) and the expiry (uint32 epoch seconds),
 * signed with the report purpose's key (HMAC-SHA256 under APP_SECRET, checked in constant time).
 * null for anything forged, altered or malformed; an expired grant is returned for the caller to refuse.
 */
export function signReportLink(signer: TokenSigner, grant: ReportGrant): string {
  const payload = Buffer.alloc(20);
  uuidToBytes(grant.campaignId).copy(payload, 0);
  payload.writeUInt32BE(grant.expires, 16);
  return signer.sign('report', payload);
}

export function readReportLink(signer: TokenSigner, token: string): ReportGrant | null {
  const payload = signer.verify('report', token);
  if (!payload || payload.length !== 20) return null;
  return { campaignId: bytesToUuid(payload, 0), expires: payload.readUInt32BE(16) };
}
