import type { Command } from 'commander';
import { ApiError } from '../admin/api-error.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { clientView, createClient, deleteClient, listClients } from '../oauth/client-registry.js';
import { listSigningKeyViews, rotateSigningKeys, isSigningAlgorithm, SIGNING_ALGORITHMS, ensureSigningKey } from '../oauth/signing-keys.js';
import { purgeExpiredArtifacts } from '../store/oauth-artifacts.js';
import { collect, printJson, withContext } from './cli-context.js';

/**
 * `client create|list|delete` (R-OAUTH-1, R-ADM-4) and `oauth rotate-keys|keys|purge`
 * (R-OAUTH-5). Running servers pick a rotation up within seconds (src/oauth/oauth-service.ts);
 * the previous key stays published, so tokens it signed keep verifying.
 */
export function registerOAuthCommands(program: Command): void {
  const client = program.command('client').description('OAuth clients (R-OAUTH-1)');

  client
    .command('create')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--type <type>', 'public (native app, PKCE) or confidential (gets a secret)')
    .option('--redirect-uri <uris>', 'redirect URI (repeatable or comma-separated)', collect, [])
    .option('--grant-type <types>', 'grant type (repeatable or comma-separated)', collect, [])
    .option('--scope <scopes>', 'allowed scope (repeatable or comma-separated)', collect, [])
    .action((o: { name: string; type: string; redirectUri: string[]; grantType: string[]; scope: string[] }) =>
      withContext(async (ctx) => {
        const { client: created, clientSecret } = await createClient(ctx, CLI_PRINCIPAL, {
          name: o.name,
          type: o.type,
          redirectUris: o.redirectUri,
          grantTypes: o.grantType,
          scopes: o.scope,
        });
        printJson({ ...clientView(created), ...(clientSecret && { clientSecret, note: 'the secret is shown once; store it now' }) });
      }),
    );

  client.command('list').action(() =>
    withContext(async (ctx) => {
      printJson((await listClients(ctx, CLI_PRINCIPAL)).map(clientView));
    }),
  );

  client.command('delete <clientId>').description('delete a client and revoke every token issued to it').action((id: string) =>
    withContext(async (ctx) => {
      await deleteClient(ctx, CLI_PRINCIPAL, id);
      printJson({ deleted: id });
    }),
  );

  const oauth = program.command('oauth').description('OAuth token service (R-OAUTH-5)');

  oauth
    .command('rotate-keys')
    .description('make a new token-signing key current; the previous one stays published for verification')
    .option('--alg <alg>', `${SIGNING_ALGORITHMS.join(' or ')}`, 'ES256')
    .action((o: { alg: string }) =>
      withContext(async (ctx) => {
        if (!isSigningAlgorithm(o.alg)) throw ApiError.invalid('alg', `must be one of ${SIGNING_ALGORITHMS.join(', ')}`);
        await ensureSigningKey(ctx);
        printJson(await rotateSigningKeys(ctx, CLI_PRINCIPAL.actor, o.alg));
      }),
    );

  oauth.command('keys').description('list token-signing keys (public information only)').action(() =>
    withContext(async (ctx) => {
      await ensureSigningKey(ctx);
      printJson(await listSigningKeyViews(ctx));
    }),
  );

  oauth.command('purge').description('delete expired codes, tokens, sessions and interactions').action(() =>
    withContext(async (ctx) => {
      printJson({ deleted: await purgeExpiredArtifacts(ctx.database.db, ctx.clock.now()) });
    }),
  );
}
