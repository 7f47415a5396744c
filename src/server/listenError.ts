/** Where a listener was asked to listen, and how a person changes it. */
export interface ListenTarget {
  host: string
  port: number
  /** The TLS listener (configured in the file) rather than the plain one (also settable by flags). */
  tls: boolean
  /** The HTTP/WebSocket listener (`--http-port`, `http.host`). */
  http?: boolean
}

/**
 * One line a person can act on for an error from `listen()` (busy port,
 * privileged port, an address that is not this machine's, a host name that
 * does not resolve), or null for any other error.
 */
export function describeListenError (err: unknown, at: ListenTarget): string | null {
  const e = err as NodeJS.ErrnoException
  if (e === null || typeof e !== 'object' || (e.syscall !== 'listen' && e.syscall !== 'getaddrinfo' && e.syscall !== 'bind')) return null
  const what = at.tls ? 'TLS port' : at.http === true ? 'HTTP port' : 'port'
  const newPort = at.tls ? 'set another tls.port in the config' : at.http === true ? 'pass --http-port <n>' : 'pass --port <n>'
  const newHost = at.tls
    ? 'set tls.host in the config to an address of this machine'
    : at.http === true ? 'set http.host in the config to an address of this machine' : 'pass --host <address>, e.g. 127.0.0.1'

  switch (e.code) {
    case 'EADDRINUSE':
      return `${what} ${at.port} is in use: stop the other process or ${newPort}`
    case 'EACCES':
    case 'EPERM':
      return `${what} ${at.port} is not allowed for this user (${e.code}): use a port from 1024 up, or ${newPort}`
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${at.host}: not an address of this machine (EADDRNOTAVAIL): ${newHost}`
    case 'ENOTFOUND':
    case 'EAI_NONAME':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return `cannot listen on ${at.host}: no such host (${e.code}): ${newHost}`
    default:
      return `cannot listen on ${at.host}:${at.port}: ${e.message}`
  }
}

/** `127.0.0.1:8000`, `[::1]:8000`. */
export function hostPort (host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}
