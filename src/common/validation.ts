import { applyDecorators, BadRequestException, Type, ValidationError, ValidationPipe } from '@nestjs/common';
import { ApiPropertyOptional, PartialType } from '@nestjs/swagger';
import { Type as TypeOf } from 'class-transformer';
import { IsObject, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { ErrorDetail } from './errors';

/** Request validation: unknown fields are refused, and every error names its field path. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return new BadRequestException({ message: details.map((d) => d.message).join('; '), details });
    },
  });
}

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((message) => ({
      field,
      message: message.startsWith(e.property) ? field + message.slice(e.property.length) : `${field}: ${message}`,
    }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/**
 * The body of a PATCH: a field left out stays as it is, and null is a value like any other, so
 * that `{"email": null}` is refused by the field's own rules instead of blanking a required field.
 * Only fields declared optional (`@IsOptional()`, which lets null through) can be cleared.
 */
export function PatchType<T>(classRef: Type<T>): Type<Partial<T>> {
  return PartialType(classRef, { skipNullProperties: false });
}

/**
 * May be left out, but not null: for settings that always have a value. (`@IsOptional()` lets null
 * through too, which is right only for fields that can be cleared.)
 */
export function IsOmittable(): PropertyDecorator {
  return ValidateIf((_object, value) => value !== undefined);
}

/** A nested object of the given DTO: an array, a string or null there is refused, naming the field. */
export function NestedObject(type: () => Type): PropertyDecorator {
  return applyDecorators(IsObject({ message: '$property must be an object' }), ValidateNested(), TypeOf(type));
}

/** Attributes are kept per subscriber and merged into every message's context: small and shallow. */
export const ATTRIBUTE_LIMITS = { maxDepth: 16, maxBytes: 32 * 1024 };
/** Campaign data is one object for the whole campaign (a product list, say), so it may be larger. */
export const CAMPAIGN_DATA_LIMITS = { maxDepth: 16, maxBytes: 256 * 1024 };

/**
 * A free-form JSON object kept as jsonb (subscriber attributes, campaign data), bounded so that
 * Postgres's JSON functions and the template renderer never meet a value they cannot handle.
 */
export function JsonObject(limits: { maxDepth: number; maxBytes: number }): PropertyDecorator {
  return applyDecorators(
    ApiPropertyOptional({ type: 'object', additionalProperties: true }),
    IsObject({ message: '$property must be an object' }),
    ValidateBy({
      name: 'jsonObject',
      validator: {
        validate: (value: unknown) => jsonProblem(value, limits) === null,
        defaultMessage: (args) => `${args?.property} ${jsonProblem(args?.value, limits)}`,
      },
    }),
  );
}

/** What makes a free-form JSON value too deep or too large for these limits, or null. */
export function jsonProblem(value: unknown, { maxDepth, maxBytes }: { maxDepth: number; maxBytes: number }): string | null {
  if (depthOf(value) > maxDepth) return `must be nested at most ${maxDepth} levels deep`;
  if (Buffer.byteLength(JSON.stringify(value) ?? '') > maxBytes) return `must be at most ${maxBytes / 1024} KiB as JSON`;
  return null;
}

/** Iterative: the request guard has already bounded the depth, but this must not recurse either. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    max = Math.max(max, d + 1);
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
