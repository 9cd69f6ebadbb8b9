import { SetMetadata } from '@nestjs/common';
import type { Scope } from './api-key.entity';

export const PUBLIC_ROUTE = 'edm:public';
export const REQUIRED_SCOPE = 'edm:scope';

/** No API key: the route is public (pages, tracking, health) and guards itself, e.g. with a signed token. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);

/** The scope a route needs; without it GET/HEAD need `read` and everything else `write`. */
export const RequireScope = (scope: Scope) => SetMetadata(REQUIRED_SCOPE, scope);
