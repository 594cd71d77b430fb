import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { DatabaseHandle } from '../store/database.js';
import { EXPIRES_SOON_MS } from './x509-parser.js';

/**
 * R-CERT-2: certificates that expired or expire within 30 days, exported as a metric so an
 * operator can alert before an IdP's or our own certificate stops working. Counted at
 * scrape time from the stored `not_after`, so every instance reports the same numbers.
 */
export function registerCertificateMetrics(registry: Registry, database: DatabaseHandle, clock: Clock): void {
  new Gauge({
    name: 'fedbridge_certificates_expiring',
    help: 'Certificates by kind and state: expired, or expiring within 30 days',
    labelNames: ['kind', 'state'],
    registers: [registry],
    async collect() {
      const now = clock.now();
      for (const [kind, table] of [['service', 'service_certificates'], ['org', 'org_certificates']] as const) {
        const rows = await database.db
          .selectFrom(table)
          .select((eb) => [
            eb.fn.countAll<number>().filterWhere('not_after', '<', now).as('expired'),
            eb.fn
              .countAll<number>()
              .filterWhere((w) => w.and([w('not_after', '>=', now), w('not_after', '<=', now + EXPIRES_SOON_MS)]))
              .as('soon'),
          ])
          .executeTakeFirstOrThrow();
        this.set({ kind, state: 'expired' }, Number(rows.expired));
        this.set({ kind, state: 'expiring_soon' }, Number(rows.soon));
      }
    },
  });
}
