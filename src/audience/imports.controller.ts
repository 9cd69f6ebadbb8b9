import { Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiTags } from '@nestjs/swagger';
import '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../common/errors';
import { Accepts } from '../common/request-input';
import { idParam } from '../common/uuid';
import { ImportDto, ImportQuery, requestedEncoding } from './dto/import.dto';
import { ImportsService } from './imports.service';

@ApiTags('imports')
@ApiBearerAuth()
@Controller('v1')
export class ImportsController {
  constructor(private readonly imports: ImportsService) {}

  /** CSV as the body (`text/csv`) or as the `file` part of a multipart form. Answers 202; poll GET /v1/imports/:id. */
  @Post('lists/:id/imports')
  @HttpCode(202)
  @Accepts(['text/csv', 'application/csv', 'multipart/form-data'])
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  async create(@Param('id', idParam('List')) listId: string, @Query() q: ImportQuery, @Req() req: FastifyRequest): Promise<ImportDto> {
    if (req.isMultipart()) {
      const part = await req.file().catch((e: Error) => Promise.reject(unreadable('file', e)));
      if (!part) throw AppError.invalid('file', 'the multipart body has no file part');
      return this.imports.receive(listId, fromClient('file', part.file), part.filename || null, q.consentText ?? null, requestedEncoding(q));
    }
    if (!isStream(req.body)) {
      throw new AppError('invalid_input', 'send the CSV as text/csv or multipart/form-data', [
        { field: 'Content-Type', message: 'expected text/csv or multipart/form-data' },
      ]);
    }
    return this.imports.receive(listId, fromClient('body', req.body), null, q.consentText ?? null, requestedEncoding(q));
  }

  @Get('imports/:id')
  get(@Param('id', idParam('Import')) id: string): Promise<ImportDto> {
    return this.imports.get(id);
  }
}

/** The upload's bytes; a stream that breaks (malformed multipart, an aborted upload) is the client's problem: a 400. */
async function* fromClient(field: string, body: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  try {
    for await (const chunk of body) yield chunk;
  } catch (e) {
    throw unreadable(field, e as Error);
  }
}

function unreadable(field: string, e: Error): AppError {
  return AppError.invalid(field, `could not be read: ${e.message}`);
}

function isStream(body: unknown): body is AsyncIterable<Buffer> {
  return typeof (body as AsyncIterable<Buffer> | undefined)?.[Symbol.asyncIterator] === 'function';
}
