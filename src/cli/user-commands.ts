import fs from 'node:fs';
import type { Command } from 'commander';
import {
  accountView,
  createAccountFor,
  deactivateAccount,
  findAccountByRef,
  reactivateAccount,
  searchAccountsFor,
} from '../accounts/account-service.js';
import { importUsersCsv, type ImportLineError } from '../accounts/users-csv.js';
import { ApiError } from '../admin/api-error.js';
import { CLI_PRINCIPAL } from '../admin/principal.js';
import { printJson, withOrg } from './cli-context.js';

/** A CSV file as text: UTF-8, or UTF-16LE with its BOM (the two encodings the guide names). */
function readCsvFile(file: string): string {
  const bytes = fs.readFileSync(file);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString('utf16le');
  return bytes.toString('utf8');
}

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('accounts of an organisation (R-ACC-7)');

  user
    .command('list')
    .requiredOption('--org <slug>', 'the organisation')
    .option('--q <text>', 'search uid, e-mail and name')
    .option('--status <status>', 'active or inactive')
    .option('--page <n>', 'page number', '1')
    .option('--page-size <n>', 'accounts per page', '50')
    .action((o: { org: string; q?: string; status?: string; page: string; pageSize: string }) =>
      withOrg(o.org, async (ctx, org) => {
        printJson(
          await searchAccountsFor(ctx, CLI_PRINCIPAL, org, {
            ...(o.q !== undefined && { q: o.q }),
            ...(o.status !== undefined && { status: o.status }),
            page: o.page,
            pageSize: o.pageSize,
          }),
        );
      }),
    );

  user
    .command('create')
    .requiredOption('--org <slug>', 'the organisation')
    .requiredOption('--uid <uid>')
    .requiredOption('--email <email>')
    .requiredOption('--firstname <name>')
    .requiredOption('--lastname <name>')
    .option('--role <role>', 'member, orgAdmin or userAdmin', 'member')
    .action((o: { org: string; uid: string; email: string; firstname: string; lastname: string; role: string }) =>
      withOrg(o.org, async (ctx, org) => {
        const { org: _org, ...body } = o;
        printJson(accountView(await createAccountFor(ctx, CLI_PRINCIPAL, org, body)));
      }),
    );

  for (const [name, apply] of [
    ['deactivate', deactivateAccount],
    ['reactivate', reactivateAccount],
  ] as const) {
    user
      .command(`${name} <account>`)
      .description(`${name} an account, given its id, uid or e-mail`)
      .requiredOption('--org <slug>', 'the organisation')
      .action((ref: string, o: { org: string }) =>
        withOrg(o.org, async (ctx, org) => {
          const account = await findAccountByRef(ctx, CLI_PRINCIPAL, org, ref);
          printJson(accountView(await apply(ctx, CLI_PRINCIPAL, org, account.id)));
        }),
      );
  }

  user
    .command('import <file>')
    .description('import a CSV file (all or nothing)')
    .requiredOption('--org <slug>', 'the organisation')
    .action((file: string, o: { org: string }) =>
      withOrg(o.org, async (ctx, org) => {
        try {
          printJson(await importUsersCsv(ctx, CLI_PRINCIPAL, org, readCsvFile(file)));
        } catch (err) {
          // The CLI prints field errors one a line; put the file's line number in front.
          if (err instanceof ApiError && err.errors.some((e) => 'line' in e)) {
            const lines = (err.errors as ImportLineError[]).map((e) => ({ field: `line ${e.line}, ${e.field}`, message: e.message }));
            throw new ApiError(err.status, err.detail, [lines[0]!, ...lines]);
          }
          throw err;
        }
      }),
    );
}
