import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { idParam } from '../common/uuid';
import { ApiKeysService } from './api-keys.service';
import { RequireScope } from './auth.decorators';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from './dto/api-key.dto';

@ApiTags('api-keys')
@ApiBearerAuth()
@RequireScope('admin')
@Controller('v1/api-keys')
export class ApiKeysController {
  constructor(private readonly service: ApiKeysService) {}

  @Post()
  create(@Body() dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    return this.service.create(dto.name, dto.scopes);
  }

  @Get()
  async list(): Promise<{ items: ApiKeyDto[]; nextCursor: null }> {
    return { items: await this.service.list(), nextCursor: null };
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('API key')) id: string): Promise<void> {
    return this.service.remove(id);
  }
}
