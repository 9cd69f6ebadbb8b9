import { SetMetadata } from '@nestjs/common';
import type { Scope } from './api-key.entity';

export const PUBLIC_ROUTE = 'edm:public';
export const REQUIRED_SCOPE = 'edm:scope';
export const BASIC_CHALLENGE = 'edm:basic-challenge';

/** No API key: the route is public (pages, tracking, health) and guards itself, e.g. with a signed token. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The scope a route needs; without it GET/HEAD need `read` and everything else `write`. */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);

/**
 * A 401 on this route asks for HTTP Basic credentials (`WWW-Authenticate: Basic`): webhook senders
 * such as Amazon SNS send the user and password of a subscription URL only when challenged.
 */
export const ChallengeBasicAuth = () => SetMetadata(BASIC_CHALLENGE, true);
