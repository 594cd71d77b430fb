/**
 * What other concerns must do when an account changes, without accounts importing them
 * (R-ACC-6: deactivation revokes the account's sessions and refresh tokens at once).
 *
 * Handlers run INSIDE the deactivation transaction, in registration order: if one fails, the
 * deactivation rolls back with it, so an account is never reported deactivated while a session
 * or token of it survives. The SAML session store and the OAuth layer register here from the
 * composition root (src/app.ts).
 */
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';

export interface AccountDeactivatedEvent {
  orgId: string;
  accountId: string;
  /** The deactivation time (epoch ms), from the injected clock. */
  now: number;
}

/** The result is ignored; a rejection rolls the deactivation back. */
export type AccountDeactivatedHandler = (trx: Transaction<Database>, event: AccountDeactivatedEvent) => Promise<unknown> | void;

const deactivatedHandlers = new Set<AccountDeactivatedHandler>();

/**
 * Registers a handler; registering the same function again is a no-op, so a composition root
 * built twice (tests) does not revoke twice. Returns a function that unregisters it.
 */
export function onAccountDeactivated(handler: AccountDeactivatedHandler): () => void {
  deactivatedHandlers.add(handler);
  return () => {
    deactivatedHandlers.delete(handler);
  };
}

/** Runs every handler in `trx`; the first failure propagates (and rolls the transaction back). */
export async function emitAccountDeactivated(trx: Transaction<Database>, event: AccountDeactivatedEvent): Promise<void> {
  for (const handler of [...deactivatedHandlers]) await handler(trx, event);
}
