/** The value every write of bench:replication, bench:replication-one and the receive-path profile carries (~90 bytes of msgpack). */
export const REPLICATION_VALUE = {
  id: 1,
  name: 'Ada Lovelace',
  email: 'ada@example.com',
  roles: ['admin', 'ops'],
  n: 42,
}
