import { detachedSlice, flat } from '../store/flatString'

/**
 * The `OK` replies of the commands that run once per event (`pub`, `ack`),
 * built as `OK <id>` plus a tail that is the same for every event of a
 * topic: the tail is built once and reused while the topic (and, for pub,
 * its subscriber count) stays the same, so a reply costs one concatenation
 * instead of one per piece. One entry each: a publisher or subscriber
 * usually works one topic at a time; another topic just rebuilds it.
 */

let publishedTopic = ''
let publishedCount = -1
let publishedTail = ''

/** `OK <key> published to <topic> (<n> subscriber[s])`. */
export function publishedReply (key: string, topic: string, subscribers: number): string {
  if (topic !== publishedTopic || subscribers !== publishedCount) {
    publishedTail = flat(` published to ${topic} (${subscribers} subscriber${subscribers === 1 ? '' : 's'})`)
    publishedTopic = detachedSlice(topic, 0, topic.length) // a slice of the command line would keep the line alive
    publishedCount = subscribers
  }
  return 'OK ' + key + publishedTail
}

let ackedTopic = ''
let ackedTail = ''

/**
 * `OK acked <what> on <topic>` (what: an event id, or a batch's count).
 * `topic`: the Topic's own name string (`subscription.topic.name`), kept by
 * reference: the next ack of the topic passes the same string, so the check
 * is one pointer comparison (a copy, or the name sliced from each ack line,
 * compared its characters on every ack).
 */
export function ackedReply (what: string | number, topic: string): string {
  if (topic !== ackedTopic) {
    ackedTail = flat(' on ' + topic)
    ackedTopic = topic
  }
  return 'OK acked ' + what + ackedTail
}
