import { ValidationArguments, ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

// The WHATWG HTML definition of a valid e-mail address, plus a dot in the domain:
// strict enough to keep typos out, loose enough for every real mailbox.
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/** Lower-cased, trimmed address, or null when it is not a deliverable-looking address. */
export function normalizeEmail(input: unknown): string | null {
  if (typeof input !== 'string') return null;
  const email = input.trim().toLowerCase();
  if (email.length > 254 || !EMAIL.test(email)) return null;
  if (email.indexOf('@') > 64) return null;
  return email;
}

@ValidatorConstraint({ name: 'email' })
export class EmailAddress implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return normalizeEmail(value) !== null;
  }
  defaultMessage(args: ValidationArguments): string {
    return `${args.property} must be a valid e-mail address`;
  }
}
