import { ApiKey } from '../api-keys/api-key.entity';
import { ConsentEvent, Import, MailingList, Subscriber, Subscription, Suppression } from '../audience/audience.entities';

export const entities = [ApiKey, MailingList, Subscriber, Subscription, ConsentEvent, Suppression, Import];
