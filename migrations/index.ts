import { Audience1732280000000 } from './1732280000000-audience';

/** Every migration, in order. Listed explicitly so that sources and builds load the same set. */
export const migrations = [Audience1732280000000];
