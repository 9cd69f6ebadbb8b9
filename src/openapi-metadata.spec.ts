import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { generateOpenApiMetadata, METADATA_FILE } from '../scripts/openapi-metadata';

describe('OpenAPI metadata', () => {
  it('is up to date with the DTOs (else: npm run openapi:metadata)', () => {
    const fresh = generateOpenApiMetadata('openapi-metadata.check.ts');
    try {
      expect(readFileSync(fresh, 'utf8')).toBe(readFileSync(join(__dirname, METADATA_FILE), 'utf8'));
    } finally {
      rmSync(fresh, { force: true });
    }
  }, 60_000);
});
