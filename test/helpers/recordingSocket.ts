import { EventEmitter } from 'node:events'
import type { Socket } from 'node:net'
import { Connection } from '../../src/server/connection'
import type { startTestBroker } from './broker'

/** A stand-in socket for unit tests of Connection: records what the connection writes; input is handed to its `data` listener. */
export class RecordingSocket extends EventEmitter {
  readonly writes: string[] = []
  writableLength = 0
  remoteAddress = '127.0.0.1'
  setNoDelay (): void {}
  pause (): void {}
  resume (): void {}
  end (): void {}
  destroy (): void {}
  write (data: string | Buffer): boolean {
    this.writes.push(String(data))
    return true
  }
}

/** A Connection of the test broker on a RecordingSocket. */
export function recordedConnection (broker: Awaited<ReturnType<typeof startTestBroker>>['broker'], id: number): { socket: RecordingSocket, conn: Connection } {
  const socket = new RecordingSocket()
  const conn = new Connection(id, socket as unknown as Socket, broker.manager, broker.config, () => {})
  return { socket, conn }
}
