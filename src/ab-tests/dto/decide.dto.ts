import { IsString, Length } from 'class-validator';

export class DecideAbTestDto {
  /** The variant to send to the rest of the audience: A, B, … */
  @IsString()
  @Length(1, 1, { message: 'variantId must be a variant id such as A or B' })
  variantId!: string;
}
