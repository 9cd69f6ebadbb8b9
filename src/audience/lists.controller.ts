import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Page, PageQuery } from '../common/pagination';
import { idParam } from '../common/uuid';
import { CreateListDto, ListDto, UpdateListDto } from './dto/list.dto';
import { ListsService } from './lists.service';

@ApiTags('lists')
@ApiBearerAuth()
@Controller('v1/lists')
export class ListsController {
  constructor(private readonly lists: ListsService) {}

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
