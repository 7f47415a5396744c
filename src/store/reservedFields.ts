/**
 * Field names only the broker writes, so a publisher may not send them: the
 * broker adds `timestamp` and `offset` to every event, `deliveries` to redeliveries and
 * `deadLetter` to dead letters. A name added here is refused by `pub` at once.
 */
export const RESERVED_FIELDS: readonly string[] = ['timestamp', 'offset', 'deliveries', 'deadLetter']

