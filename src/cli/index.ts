import { Command } from 'commander';
import { registerAdminCommands } from './admin-commands.js';
import { registerCertCommands } from './cert-commands.js';
import { registerMetadataCommands } from './metadata-commands.js';
import { printJson, withContext } from './cli-context.js';
import { registerOAuthCommands } from './oauth-commands.js';
import { registerOrgCommands } from './org-commands.js';
import { registerSsoCommands } from './sso-commands.js';
import { registerUserCommands } from './user-commands.js';
import { migrateToLatest } from '../store/migrations/index.js';

/** `npm run cli -- <command>`: the operator's CLI (R-ADM-4). Each concern registers its commands. */
const program = new Command('fedbridge').description('fedbridge operator CLI').showHelpAfterError();

program
  .command('migrate')
  .description('apply pending database migrations')
  .action(() =>
    withContext(async (ctx) => {
      // createContext already migrated; running again reports nothing pending.
      const applied = await migrateToLatest(ctx.database.db, ctx.database.dialect);
      printJson({ database: ctx.database.dialect, applied, status: 'up to date' });
    }),
  );

registerOrgCommands(program);
registerAdminCommands(program);
registerCertCommands(program);
registerMetadataCommands(program);
registerSsoCommands(program);
registerUserCommands(program);
registerOAuthCommands(program);

await program.parseAsync(process.argv);
