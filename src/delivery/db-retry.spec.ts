import { QueryFailedError, QueryRunnerAlreadyReleasedError, QueryRunnerProviderAlreadyReleasedError, TransactionNotStartedError } from 'typeorm';
import { isTransientDbError } from './db-retry';

/** A pg error as the driver raises it: a message and a SQLSTATE. */
const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isTransientDbError', () => {
  it.each([
    ['server shutting down (57P01)', pgError('57P01', 'terminating connection due to administrator command')],
    ['starting up (57P03)', pgError('57P03', 'the database system is starting up')],
    ['connection exception class 08', pgError('08006')],
    ['serialization failure', pgError('40001')],
    ['refused socket', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['pg: connection died under a query', new Error('Connection terminated unexpectedly')],
    ['pg: client used after it died', new Error('Client has encountered a connection error and is not queryable')],
    ['TypeORM: the transaction runner released itself when its connection died', new QueryRunnerAlreadyReleasedError()],
    ['TypeORM: a manager whose runner was released', new QueryRunnerProviderAlreadyReleasedError()],
    ['a wrapped driver error', new QueryFailedError('UPDATE messages …', [], pgError('57P01'))],
  ])('%s: transient', (_, e) => expect(isTransientDbError(e)).toBe(true));

  it.each([
    ['unique violation', pgError('23505', 'duplicate key value violates unique constraint')],
    ['syntax error', new QueryFailedError('SELEC', [], pgError('42601'))],
    ['a transaction never started', new TransactionNotStartedError()],
    ['anything else', new Error('boom')],
    ['not an error', 'Connection terminated'],
  ])('%s: not transient', (_, e) => expect(isTransientDbError(e)).toBe(false));
});
