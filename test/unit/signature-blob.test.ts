// The stored form of signatures (dir: signature-N files), against bytes hand-built from
// containers/image's internal/signature Blob/FromBlob and Go's json.Marshal.
import { describe, expect, it } from 'vitest';
import { signatureBlob, signatureFromBlob } from '../../lib/transport/signature-blob.js';

const sigstore = {
  mimeType: 'application/vnd.dev.cosign.simplesigning.v1+json',
  payload: Buffer.from('{"a":1}'),
  annotations: { z: 'last', 'dev.cosignproject.cosign/signature': 'MEU=' },
};

describe('signatureBlob', () => {
  it('writes a simple signature as its raw bytes', () => {
    const raw = Buffer.from([0xa3, 1, 2, 3]);
    expect(signatureBlob({ format: 'simple-signing', blob: raw })).toEqual(raw);
  });

  it('writes a sigstore signature as \\0sigstore-json\\n and Go JSON: fields in struct order, map keys sorted, base64 payload, HTML escaped', () => {
    const expected = Buffer.concat([
      Buffer.from([0]),
      Buffer.from(
        'sigstore-json\n{"mimeType":"application/vnd.dev.cosign.simplesigning.v1+json","payload":"eyJhIjoxfQ==","annotations":{"dev.cosignproject.cosign/signature":"MEU=","z":"last"}}',
      ),
    ]);
    expect(signatureBlob({ format: 'sigstore-json', sigstore })).toEqual(expected);
    const html = signatureBlob({ format: 'sigstore-json', sigstore: { mimeType: 'a<b>&c', payload: Buffer.alloc(0), annotations: {} } });
    expect(html.toString('latin1')).toBe('\0sigstore-json\n{"mimeType":"a\\u003cb\\u003e\\u0026c","payload":"","annotations":{}}');
  });
});

describe('signatureFromBlob', () => {
  it('reads back what it writes', () => {
    expect(signatureFromBlob(signatureBlob({ format: 'sigstore-json', sigstore }), 'f')).toEqual({ format: 'sigstore-json', sigstore });
    expect(signatureFromBlob(Buffer.from([0x89, 9]), 'f')).toEqual({ format: 'simple-signing', blob: Buffer.from([0x89, 9]) });
  });

  it('reads a simple signature with the explicit prefix, and null fields as empty, as Go', () => {
    expect(signatureFromBlob(Buffer.from('\0simple-signing\nXYZ', 'latin1'), 'f')).toEqual({ format: 'simple-signing', blob: Buffer.from('XYZ') });
    expect(signatureFromBlob(Buffer.from('\0sigstore-json\n{"mimeType":"m","payload":null,"annotations":null}', 'latin1'), 'f')).toEqual({
      format: 'sigstore-json',
      sigstore: { mimeType: 'm', payload: Buffer.alloc(0), annotations: {} },
    });
  });

  it.each([
    ['', 'empty signature blob'],
    ['hello', 'unrecognized signature format, starting with binary 0x68'],
    ['\0sigstore-json', 'invalid signature format, missing newline'],
    ['\0sig\x01\n{}', 'invalid signature format, non-ASCII byte 0x1'],
    ['\0cosign\n{}', 'unrecognized signature format "cosign"'],
    ['\0sigstore-json\n{"mimeType":"m","mimeType":"n"}', 'duplicate key'],
    ['\0sigstore-json\n{"mimetype":"m"}', 'unknown key "mimetype"'],
    ['\0sigstore-json\n{"payload":"!!"}', 'payload is not base64'],
    ['\0sigstore-json\n{"annotations":{"a":1}}', 'annotation "a" is not a string'],
  ])('refuses %j, naming the file', (blob, reason) => {
    expect(() => signatureFromBlob(Buffer.from(blob, 'latin1'), '/d/signature-3')).toThrow(`reading signature /d/signature-3: `);
    expect(() => signatureFromBlob(Buffer.from(blob, 'latin1'), '/d/signature-3')).toThrow(reason);
  });
});
