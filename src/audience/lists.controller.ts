import { Body, Controller, Delete, Get, Header, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CreateListDto, FormSnippetQuery, ListDto, UpdateListDto } from './dto/list.dto';
import { ListsService } from './lists.service';
import { PublicFormsService } from './pages/public-forms.service';

@ApiTags('lists')
@ApiBearerAuth()
@Controller('v1/lists')
export class ListsController {
  constructor(
    private readonly lists: ListsService,
    private readonly forms: PublicFormsService,
  ) {}

  @Post()
  create(@Body() dto: CreateListDto): Promise<ListDto> {
    return this.lists.create(dto);
  }

  @Get()
  list(@Query() q: PageQuery): Promise<Page<ListDto>> {
    return this.lists.list(q);
  }

  @Get(':id')
  get(@Param('id', idParam('List')) id: string): Promise<ListDto> {
    return this.lists.get(id);
  }

  /** HTML to paste into another site: the hosted form in a frame (default), or a plain form for lists without the challenge. */
  @Get(':id/form')
  @Header('content-type', 'text/html; charset=utf-8')
  @ApiProduces('text/html')
  form(@Param('id', idParam('List')) id: string, @Query() q: FormSnippetQuery): Promise<string> {
    return this.forms.embedSnippet(id, q.kind ?? 'iframe');
  }

  @Patch(':id')
  update(@Param('id', idParam('List')) id: string, @Body() dto: UpdateListDto): Promise<ListDto> {
    return this.lists.update(id, dto);
  }

  @Delete(':id')
  @HttpCode(204)
  remove(@Param('id', idParam('List')) id: string): Promise<void> {
    return this.lists.remove(id);
  }
}
