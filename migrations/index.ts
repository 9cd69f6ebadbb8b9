import { Audience1732280000000 } from './1732280000000-audience';
import { Content1732290000000 } from './1732290000000-content';
import { CustomerEvents1764600000000 } from './1764600000000-customer-events';
import { EngagementFillfactor1732330000000 } from './1732330000000-engagement-fillfactor';
import { ImportEncoding1732350000000 } from './1732350000000-import-encoding';
import { ImportIndexes1732320000000 } from './1732320000000-import-indexes';
import { Journeys1765000000000 } from './1765000000000-journeys';
import { JourneyEngine1765100000000 } from './1765100000000-journey-engine';
import { Ownership1732360000000 } from './1732360000000-ownership';
import { PublicForms1732340000000 } from './1732340000000-public-forms';
import { Segments1764700000000 } from './1764700000000-segments';
import { Sending1732300000000 } from './1732300000000-sending';
import { Tracking1732310000000 } from './1732310000000-tracking';
import { Webhooks1764800000000 } from './1764800000000-webhooks';
import { Transactional1764900000000 } from './1764900000000-transactional';
import { CampaignReport1765200000000 } from './1765200000000-campaign-report';
import { AbTests1765400000000 } from './1765400000000-ab-tests';
import { AudienceDomains1765500000000 } from './1765500000000-audience-domains';

/** Every migration, in order. Listed explicitly so that sources and builds load the same set. */
export const migrations = [
  Audience1732280000000,
  Content1732290000000,
  Sending1732300000000,
  Tracking1732310000000,
  ImportIndexes1732320000000,
  EngagementFillfactor1732330000000,
  PublicForms1732340000000,
  ImportEncoding1732350000000,
  Ownership1732360000000,
  CustomerEvents1764600000000,
  Segments1764700000000,
  Webhooks1764800000000,
  Transactional1764900000000,
  Journeys1765000000000,
  JourneyEngine1765100000000,
  CampaignReport1765200000000,
  AbTests1765400000000,
  AudienceDomains1765500000000,
];
