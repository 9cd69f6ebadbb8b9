import { dropDatabase } from './databases';

/** Drops this run's template; the test files dropped their own copies. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.EDM_TEST_TEMPLATE) await dropDatabase(process.env.EDM_TEST_TEMPLATE);
}
