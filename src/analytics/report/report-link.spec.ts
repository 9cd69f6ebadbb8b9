import { TokenSigner } from '../../common/tokens';
import type { AppConfig } from '../../config/config';
import { readReportLink, signReportLink } from './report-link';

const signer = new TokenSigner({ secret: Buffer.from('test secret') } as AppConfig);
const id = '0190f4d2-7c1a-7b3e-9f00-1234567890ab';

describe('report links', () => {
  it('name the kind of report, the id and the expiry', () => {
    for (const kind of ['campaign', 'journey'] as const) {
      expect(readReportLink(signer, signReportLink(signer, { kind, id, expires: 1_900_000_000 }))).toEqual({ kind, id, expires: 1_900_000_000 });
    }
  });

  it('read a link made before the kind was written (20 bytes) as a campaign’s', () => {
    const payload = Buffer.alloc(20);
    Buffer.from(id.replace(/-/g, ''), 'hex').copy(payload, 0);
    payload.writeUInt32BE(1_900_000_000, 16);
    expect(readReportLink(signer, signer.sign('report', payload))).toEqual({ kind: 'campaign', id, expires: 1_900_000_000 });
  });

  it('refuse an unknown kind, another length, another purpose’s token and another secret’s', () => {
    const unknown = Buffer.alloc(21);
    unknown[0] = 9;
    expect(readReportLink(signer, signer.sign('report', unknown))).toBeNull();
    expect(readReportLink(signer, signer.sign('report', Buffer.alloc(22)))).toBeNull();
    const grant = { kind: 'journey' as const, id, expires: 1_900_000_000 };
    const token = signReportLink(signer, grant);
    expect(readReportLink(signer, signer.sign('confirm', Buffer.from(token.split('.')[0], 'base64url')))).toBeNull();
    expect(readReportLink(new TokenSigner({ secret: Buffer.from('other') } as AppConfig), token)).toBeNull();
  });
});
