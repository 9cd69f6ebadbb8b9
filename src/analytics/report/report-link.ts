import { Inject, Injectable } from '@nestjs/common';
import { bytesToUuid, TokenSigner, uuidToBytes } from '../../common/tokens';
import type { AppConfig } from '../../config/config';
import { APP_CONFIG } from '../../config/config.module';
import type { ReportLinkDto } from '../dto/report.dto';

/** The reports a link can share; the byte each is written as in a token (never renumber one). */
const KINDS = { campaign: 1, journey: 2 } as const;
export type ReportKind = keyof typeof KINDS;

/** What a genuine report link names: which report, and until when it may be read. */
export interface ReportGrant {
  kind: ReportKind;
  id: string;
  /** Epoch seconds. */
  expires: number;
}

const DEFAULT_LINK_HOURS = 168;

/**
 * A shared report's token: the kind (1 byte), the campaign's or journey's id (16 bytes) and the
 * expiry (uint32 epoch seconds), signed with the report purpose's key (HMAC-SHA256 under APP_SECRET,
 * checked in constant time). A 20-byte payload without the kind is a campaign's, as links made
 * before journeys could be shared are.
 */
export function signReportLink(signer: TokenSigner, grant: ReportGrant): string {
  const payload = Buffer.alloc(21);
  payload[0] = KINDS[grant.kind];
  uuidToBytes(grant.id).copy(payload, 1);
  payload.writeUInt32BE(grant.expires, 17);
  return signer.sign('report', payload);
}

/** null for anything forged, altered or malformed; an expired grant is returned for the caller to refuse. */
export function readReportLink(signer: TokenSigner, token: string): ReportGrant | null {
  const payload = signer.verify('report', token);
  if (payload?.length === 20) return { kind: 'campaign', id: bytesToUuid(payload, 0), expires: payload.readUInt32BE(16) };
  if (payload?.length !== 21) return null;
  const kind = (Object.keys(KINDS) as ReportKind[]).find((k) => KINDS[k] === payload[0]);
  return kind ? { kind, id: bytesToUuid(payload, 1), expires: payload.readUInt32BE(17) } : null;
}

/** Report links of every kind: made here, read here. */
@Injectable()
export class ReportLinks {
  constructor(
    private readonly signer: TokenSigner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The caller has checked that the report exists. */
  create(kind: ReportKind, id: string, expiresInHours = DEFAULT_LINK_HOURS): ReportLinkDto {
    const expires = Math.floor(Date.now() / 1000) + expiresInHours * 3600;
    const token = signReportLink(this.signer, { kind, id, expires });
    return { url: `${this.config.http.publicUrl}/r/${token}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  read(token: string): ReportGrant | null {
    return readReportLink(this.signer, token);
  }
}
