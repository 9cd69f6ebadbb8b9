import { derivedMailingId } from '../tracking/mailing-id';

/** Transactional mail of one template is one mailing (see tracking/mailing-id.ts). */
export function transactionalMailingId(templateId: string): string {
  return derivedMailingId(`transactional:${templateId.toLowerCase()}`);
}
