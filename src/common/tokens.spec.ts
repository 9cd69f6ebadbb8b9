import { loadConfig } from '../config/config';
import { bytesToUuid, TokenSigner, uuidToBytes } from './tokens';

describe('TokenSigner', () => {
  const signer = new TokenSigner(loadConfig({ APP_SECRET: 'k'.repeat(40) }));
  const other = new TokenSigner(loadConfig({ APP_SECRET: 'z'.repeat(40) }));
  const payload = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

  it('round-trips a payload', () => {
    expect(signer.verify('confirm', signer.sign('confirm', payload))).toEqual(payload);
  });

  it('is URL-safe and short', () => {
    const token = signer.sign('confirm', payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
  });

  it('rejects altered payloads, altered or truncated macs, other secrets and junk', () => {
    const token = signer.sign('confirm', payload);
    const [p, m] = token.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    expect(signer.verify('confirm', `${flip(p, 3)}.${m}`)).toBeNull();
    expect(signer.verify('confirm', `${p}.${flip(m, 3)}`)).toBeNull();
    expect(signer.verify('confirm', `${p}.${m.slice(0, -1)}`)).toBeNull();
    expect(signer.verify('confirm', `${p}.${flip(m, m.length - 1)}`)).toBeNull(); // a second spelling of the same bytes
    expect(signer.verify('confirm', p)).toBeNull();
    expect(signer.verify('confirm', '')).toBeNull();
    expect(signer.verify('confirm', '.')).toBeNull();
    expect(signer.verify('confirm', `${p}=.${m}`)).toBeNull();
    expect(other.verify('confirm', token)).toBeNull();
  });

  it('converts uuids to 16 bytes and back', () => {
    const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
    expect(uuidToBytes(id)).toHaveLength(16);
    expect(bytesToUuid(uuidToBytes(id))).toBe(id);
  });
});
