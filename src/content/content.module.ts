import { Module } from '@nestjs/common';
import { TemplateCompiler } from './template-compiler';
import { TemplateLibrary } from './template-library';
import { TemplatePreview } from './template-preview';
import { TemplatesController } from './templates.controller';
import { TemplatesRepository } from './templates.repository';
import { TemplatesService } from './templates.service';

/** MJML + Handlebars templates: storage and versions, validation, compile-once, previews. */
@Module({
  controllers: [TemplatesController],
  providers: [TemplateLibrary, TemplateCompiler, TemplatesService, TemplatesRepository, TemplatePreview],
  exports: [TemplateCompiler, TemplatesService, TemplateLibrary],
})
export class ContentModule {}
