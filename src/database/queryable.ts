/**
 * Anything that runs a query: the DataSource, an EntityManager inside a transaction, or a
 * QueryRunner. Repositories take one where the caller's transaction must include their statement.
 */
export interface Queryable {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TypeORM's own signature
  query(sql: string, parameters?: unknown[]): Promise<any>;
}
