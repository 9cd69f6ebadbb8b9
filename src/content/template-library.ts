import { Inject, Injectable } from '@nestjs/common';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';

export interface StarterTemplate {
  key: string;
  name: string;
  subject: string;
  mjml: string;
}

/** The files in TEMPLATES_DIR: shared partials and the starter templates, read once at start. */
@Injectable()
export class TemplateLibrary {
  readonly partials: ReadonlyMap<string, string>;
  readonly starters: readonly StarterTemplate[];

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const dir = config.content.templatesDir;
    const partialsDir = join(dir, 'partials');
    this.partials = new Map(
      existsSync(partialsDir)
        ? readdirSync(partialsDir)
            .filter((f) => f.endsWith('.mjml'))
            .map((f) => [basename(f, '.mjml'), readFileSync(join(partialsDir, f), 'utf8')])
        : [],
    );
    const manifest = join(dir, 'starters.json');
    const entries = existsSync(manifest) ? (JSON.parse(readFileSync(manifest, 'utf8')) as { key: string; name: string; subject: string; file: string }[]) : [];
    this.starters = entries.map((e) => ({ key: e.key, name: e.name, subject: e.subject, mjml: readFileSync(join(dir, e.file), 'utf8') }));
  }
}
