import type { HttpListener } from '../http/server'
import type { Monitoring } from '../metrics/monitoring'

/** The dashboard's routes (GET / and its API): see docs/dashboard.md. */
export function registerDashboard (_http: HttpListener, _monitoring: Monitoring): void {}
