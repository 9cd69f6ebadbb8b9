/**
 * Writes src/openapi-metadata.ts: what the @nestjs/swagger compiler plugin learns from the DTOs'
 * types, comments and class-validator decorators (fields, types, lengths, enums). `nest build` is
 * not what runs the tests (SWC is), so the document is built from this file in every process, and
 * a spec fails when it is out of date. Run `npm run openapi:metadata` after changing a DTO.
 */
import { PluginMetadataGenerator } from '@nestjs/cli/lib/compiler/plugins/plugin-metadata-generator';
import type { ReadonlyVisitor as Visitor } from '@nestjs/swagger/dist/plugin';

// Node resolves the package's "./plugin" export; the project's moduleResolution (node10) finds its types by path.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { ReadonlyVisitor } = require('@nestjs/swagger/plugin') as { ReadonlyVisitor: typeof Visitor };
import { join, relative } from 'node:path';

export const METADATA_FILE = 'openapi-metadata.ts';

const SRC = join(__dirname, '..', 'src');

/** Generates the metadata into `src/<filename>` (imports in it are relative to src/). */
export function generateOpenApiMetadata(filename = METADATA_FILE): string {
  new PluginMetadataGenerator().generate({
    visitors: [new ReadonlyVisitor({ introspectComments: true, classValidatorShim: true, pathToSource: SRC })],
    outputDir: SRC,
    filename,
    // The generator resolves this path against the working directory.
    tsconfigPath: relative(process.cwd(), join(__dirname, '..', 'tsconfig.build.json')),
    printDiagnostics: false,
  });
  return join(SRC, filename);
}

if (require.main === module) generateOpenApiMetadata();
