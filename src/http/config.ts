/** The HTTP/WebSocket listener's settings; `http: null` turns it off. */
export interface HttpConfig {
  port: number
  /** Address to bind; the broker's `host` when absent. */
  host?: string
  /** How long a verified `Authorization: Basic` credential is trusted without running scrypt again (0: never cached). */
  credentialCacheMs?: number
  /** Largest WebSocket frame a client may send (ws closes the connection with 1009 beyond it). */
  maxFrameBytes?: number
}

export const HTTP_DEFAULTS = Object.freeze({ port: 8080, host: '127.0.0.1', credentialCacheMs: 60000, maxFrameBytes: 1024 * 1024 })

export const httpSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['port'],
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string', minLength: 1 },
    credentialCacheMs: { type: 'integer', minimum: 0, maximum: 3600000 },
    maxFrameBytes: { type: 'integer', minimum: 1024 },
  },
} as const
