import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsEmail, IsInt, IsObject, IsOptional, IsString, IsUUID, Length, Max, Min } from 'class-validator';

const DEFINITION_DOC = 'See the README, "Journeys": trigger, steps (the first is the entry) and settings.';

export class JourneyBodyDto {
  @IsString()
  @Length(1, 200)
  name!: string;

  @ApiProperty({ type: 'object', additionalProperties: true, description: DEFINITION_DOC })
  @IsObject()
  trigger!: Record<string, unknown>;

  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true }, description: DEFINITION_DOC })
  @IsArray()
  @ArrayMaxSize(200)
  steps!: unknown[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: DEFINITION_DOC })
  @IsOptional()
  @IsObject()
  settings?: Record<string, unknown>;
}

export class JourneyVersionDto {
  version!: number;
  publishedAt!: string;
}

export class JourneyDto {
  id!: string;
  name!: string;
  @ApiProperty({ enum: ['draft', 'active', 'paused', 'archived'] })
  status!: string;
  /** The version new enrolments get (null until the first publish). */
  version!: number | null;
  /** The draft: what the next publish freezes. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  trigger!: unknown;
  @ApiProperty({ type: 'array', items: { type: 'object', additionalProperties: true } })
  steps!: unknown[];
  @ApiProperty({ type: 'object', additionalProperties: true })
  settings!: unknown;
  versions!: JourneyVersionDto[];
  createdAt!: string;
  updatedAt!: string;
}

/** Enrolment by API: one of `email`, `subscriberId`, `userId`. */
export class EnrolDto {
  @IsOptional()
  @IsEmail()
  @Length(3, 320)
  email?: string;

  @IsOptional()
  @IsUUID()
  subscriberId?: string;

  @IsOptional()
  @IsString()
  @Length(1, 256)
  userId?: string;

  /** Handlebars `{{data.x}}` in the journey's mail. */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  data?: Record<string, unknown>;
}

export class EnrolmentCreatedDto {
  enrolmentId!: string;
  journeyId!: string;
  version!: number;
  subscriberId!: string;
}

export class EnrolmentQuery {
  /** One subscriber's enrolments (an id). */
  @IsOptional()
  @IsUUID()
  subscriber?: string;

  @IsOptional()
  @IsUUID()
  before?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit: number = 50;
}

export class EnrolmentStepDto {
  seq!: number;
  stepId!: string;
  enteredAt!: string;
  doneAt!: string | null;
  /** Where it led: next, yes, no, event, timeout, split:<i>, sent, exit, goal. */
  outcome!: string | null;
  /** A send step's mail. */
  message?: { status: string; sentAt: string | null };
}

export class EnrolmentDto {
  id!: string;
  journeyId!: string;
  version!: number;
  subscriberId!: string;
  @ApiProperty({ enum: ['active', 'completed', 'exited'] })
  status!: string;
  /** The step it is at (null once ended), whether it waits there, and until when. */
  stepId!: string | null;
  waiting!: boolean;
  dueAt!: string | null;
  enteredAt!: string;
  endedAt!: string | null;
  endReason!: string | null;
  goalAt!: string | null;
  history!: EnrolmentStepDto[];
}

export class JourneyStepStatsDto {
  stepId!: string;
  type!: string;
  entered!: number;
  waiting!: number;
  completed!: number;
  exited!: number;
  /** Send steps: messages by status and the engagement counters of the step's mailings (every version). */
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  messages?: Record<string, number>;
  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  engagement?: object;
}

export class JourneyStatsDto {
  journeyId!: string;
  enrolled!: number;
  active!: number;
  completed!: number;
  exited!: number;
  steps!: JourneyStepStatsDto[];
  goal!: { reached: number; rate: number } | null;
}
