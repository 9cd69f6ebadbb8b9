import { decodeText, toUtf8, Utf8Check } from './import-encoding';

const checkIn = (chunks: Buffer[]): Utf8Check => {
  const c = new Utf8Check();
  chunks.forEach((x) => c.push(x));
  c.finish();
  return c;
};

describe('import encodings', () => {
  it('accepts UTF-8 whatever the chunk boundaries, including characters split between chunks', () => {
    const text = Buffer.from('email,name\nzoe@example.com,Zoë 👋 Müller\n', 'utf8');
    for (let cut = 0; cut <= text.length; cut++) expect(checkIn([text.subarray(0, cut), text.subarray(cut)]).valid).toBe(true);
    expect(checkIn([...text].map((b) => Buffer.from([b]))).valid).toBe(true);
  });

  it('finds the first byte of a Latin-1 file that is not UTF-8', () => {
    const latin1 = Buffer.from('email,name\nm@example.com,M\u00fcller\n', 'latin1');
    const c = checkIn([latin1.subarray(0, 20), latin1.subarray(20)]);
    expect(c.valid).toBe(false);
    expect(c.firstInvalid).toBe(latin1.indexOf(0xfc));
    expect(checkIn([Buffer.from([0x61, 0xe2, 0x82])]).firstInvalid).toBe(1); // cut off at the end
    expect(checkIn([Buffer.from([0xc0, 0xaf])]).firstInvalid).toBe(0); // overlong
  });

  it('decodes Windows-1252 and ISO-8859-15 into UTF-8', () => {
    expect(toUtf8('windows-1252')(Buffer.from([0x4d, 0xfc, 0x6c, 0x80])).toString('utf8')).toBe('Mül€');
    expect(decodeText(Buffer.from([0xa4]), 'iso-8859-15')).toBe('€');
  });
});
