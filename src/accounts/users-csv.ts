/**
 * CSV import and export of an org's accounts (R-ACC-7; guide: "CSV File Format", "CSV Fields").
 *
 * Import is all-or-nothing: every line is validated first (the same rules as the API), and any
 * error answers 422 with `errors: [{line, field, message}]` and writes nothing. A valid file is
 * applied in one transaction with one audit entry summarising the counts.
 *
 * - The header row names the columns: our attribute names (case-insensitive), `id`, `status`,
 *   `role`, and a few of the guide's CSV names (`userName`, `address1`, `fax`, …). Unknown
 *   columns are skipped, as the guide says, and reported back in `ignoredColumns`.
 * - A line updates the account with its `id` (when the column is there and filled), else the
 *   one with its e-mail (the guide: "the existing record … is overwritten"), else creates one.
 * - Columns present in the file replace the stored value — an empty cell clears an optional
 *   attribute; columns absent from the file leave it alone.
 * - Administrators cannot be created or have their role changed by import (guide: "CSV Fields");
 *   `role` must be empty, `member` for new accounts, or the account's current role.
 * - `status` deactivates or reactivates, with the same hooks and primary-administrator rule as
 *   the API.
 * - Export writes the same columns, so an exported file imports back unchanged.
 * - Spreadsheet formulas: an exported value starting with = + - @ (or a tab/CR) is prefixed with
 *   `'` so a spreadsheet shows it as text; import removes exactly that one `'`.
 */
import crypto from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import type { AppContext } from '../app-context.js';
import { ApiError, type FieldError } from '../admin/api-error.js';
import { authorize, type Principal } from '../admin/principal.js';
import {
  countActiveOrgAdmins,
  findAccountsByKeys,
  insertAccount,
  listAccountsAfter,
  lockOrgAccounts,
  normalizeAccountKey,
  setAccountStatus,
  updateAccount,
  type Account,
  type AccountChanges,
} from '../store/accounts.js';
import { recordAudit } from '../store/audit.js';
import { onUniqueViolation } from '../store/database.js';
import type { Org } from '../store/orgs.js';
import { resolveAttributeName } from './attribute-mapper.js';
import { deactivateInTransaction, diffAccount } from './account-service.js';
import type { AccountStatus } from './provisioning-rules.js';
import { ACCOUNT_ATTRIBUTE_NAMES, createAccountSchema, patchAccountSchema } from './users-schemas.js';

/** Export columns, in order; import accepts any subset (plus aliases). */
export const USER_CSV_COLUMNS: readonly string[] = [
  'id',
  'uid',
  'email',
  'firstname',
  'lastname',
  'status',
  'role',
  'ssoid',
  'updateTimeStamp',
  ...ACCOUNT_ATTRIBUTE_NAMES,
];

/** The guide's CSV column names that differ from our attribute names (lower-cased). */
const GUIDE_ALIASES: Readonly<Record<string, string>> = {
  username: 'uid',
  address1: 'streetLine1',
  address2: 'streetLine2',
  fax: 'businessFax',
  phonebusinessnumber: 'businessPhone',
  phonemobilenumber: 'mobilePhone',
  endpointname: 'imloggingendpointname',
  autoupgradesitename: 'upgradesite',
};

export const MAX_IMPORT_LINES = 20_000;

export interface ImportLineError extends FieldError {
  line: number;
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  reactivated: number;
  ignoredColumns: string[];
}

const FORMULA_START = /^'*[=+\-@\t\r]/;

function protectFormula(value: string): string {
  return FORMULA_START.test(value) ? `'${value}` : value;
}

function unprotectFormula(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value) ? value.slice(1) : value;
}

function columnFor(header: string): string | null {
  const h = header.trim();
  const lower = h.toLowerCase();
  const fixed = ['id', 'status', 'role'].find((c) => c === lower);
  if (fixed) return fixed;
  if (lower === 'ssoid') return 'ssoid';
  const alias = GUIDE_ALIASES[lower];
  if (alias) return alias;
  return resolveAttributeName(h);
}

export async function exportUsersCsv(ctx: AppContext, principal: Principal, org: Org): Promise<string> {
  authorize(principal, 'users:manage', org.id);
  const rows: string[][] = [[...USER_CSV_COLUMNS]];
  let after: string | null = null;
  for (;;) {
    const batch = await listAccountsAfter(ctx.database.db, org.id, after, 1000);
    for (const a of batch) rows.push(USER_CSV_COLUMNS.map((c) => protectFormula(cellOf(a, c))));
    const last = batch.at(-1);
    if (!last || batch.length < 1000) break;
    after = last.uid;
  }
  return stringify(rows, { record_delimiter: 'windows' });
}

function cellOf(a: Account, column: string): string {
  switch (column) {
    case 'id':
    case 'uid':
    case 'email':
    case 'firstname':
    case 'lastname':
    case 'status':
    case 'role':
      return a[column];
    case 'ssoid':
      return a.ssoId ?? '';
    case 'updateTimeStamp':
      return a.updateTimeStamp === null ? '' : new Date(a.updateTimeStamp).toISOString();
    default:
      return a.attributes[column] ?? '';
  }
}

interface ParsedLine {
  line: number;
  values: Map<string, string>;
}

/** Lines of the file as column → trimmed value; problems of form go to `errors`. */
function parseCsv(text: string, errors: ImportLineError[]): { lines: ParsedLine[]; ignoredColumns: string[]; columns: string[] } {
  const firstLine = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/, 1)[0] ?? '';
  // The guide allows tab-separated files; the header tells which one this is.
  const delimiter = firstLine.includes('\t') && !firstLine.includes(',') ? '\t' : ',';
  let records: Array<{ record: string[]; info: { lines: number } }>;
  try {
    records = parse(text, { bom: true, delimiter, info: true, relax_column_count: true, skip_empty_lines: true }) as unknown as typeof records;
  } catch (err) {
    const e = err as { message: string; lines?: number };
    errors.push({ line: e.lines ?? 1, field: 'csv', message: `not a readable CSV file: ${e.message.split(':')[0]}` });
    return { lines: [], ignoredColumns: [], columns: [] };
  }
  const [header, ...data] = records;
  if (!header) {
    errors.push({ line: 1, field: 'csv', message: 'the file is empty: expected a header row naming the columns' });
    return { lines: [], ignoredColumns: [], columns: [] };
  }
  if (data.length > MAX_IMPORT_LINES) {
    errors.push({ line: 1, field: 'csv', message: `at most ${MAX_IMPORT_LINES} lines per file` });
    return { lines: [], ignoredColumns: [], columns: [] };
  }
  const columns: Array<string | null> = [];
  const ignoredColumns: string[] = [];
  for (const name of header.record) {
    const column = columnFor(name);
    if (column === null) {
      ignoredColumns.push(name);
    } else if (columns.includes(column)) {
      errors.push({ line: header.info.lines, field: name, message: `column ${column} is given twice` });
    }
    columns.push(column);
  }
  if (!columns.includes('id') && !columns.includes('email')) {
    errors.push({ line: header.info.lines, field: 'email', message: 'an email (or id) column is needed to match accounts' });
  }
  const lines: ParsedLine[] = [];
  for (const { record, info } of data) {
    // info.lines is where the record ends; a quoted field may span lines.
    const line = info.lines - record.reduce((n, f) => n + (f.match(/\r\n|\n|\r/g)?.length ?? 0), 0);
    if (record.length !== header.record.length) {
      errors.push({ line, field: 'csv', message: `expected ${header.record.length} fields, found ${record.length}` });
      continue;
    }
    const values = new Map<string, string>();
    record.forEach((cell, i) => {
      const column = columns[i];
      if (column) values.set(column, unprotectFormula(cell).trim());
    });
    lines.push({ line, values });
  }
  return { lines, ignoredColumns, columns: columns.filter((c): c is string => c !== null) };
}

/** One line's validated intent. */
type Plan =
  | { kind: 'create'; line: number; account: Omit<Account, 'updatedAt'> }
  | { kind: 'update'; line: number; account: Account; changes: AccountChanges; status: AccountStatus | null };

function fieldErrors(line: number, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>, rename: (f: string) => string): ImportLineError[] {
  return issues.map((i) => ({
    line,
    field: i.path.length > 0 ? rename(i.path.map(String).join('.')) : 'csv',
    message: i.message,
  }));
}

/** API field names back to CSV column names, so errors name the column the user sees. */
function csvField(field: string): string {
  if (field === 'ssoId') return 'ssoid';
  if (field.startsWith('attributes.')) return field.slice('attributes.'.length);
  return field;
}

export async function importUsersCsv(ctx: AppContext, principal: Principal, org: Org, text: string): Promise<ImportSummary> {
  authorize(principal, 'users:manage', org.id);
  const errors: ImportLineError[] = [];
  const { lines, ignoredColumns, columns } = parseCsv(text, errors);
  const db = ctx.database.db;

  // Every account a line could touch or collide with, in one pass.
  const get = (l: ParsedLine, c: string) => l.values.get(c);
  const known = await findAccountsByKeys(db, org.id, {
    ids: lines.map((l) => get(l, 'id')).filter((v): v is string => !!v),
    uids: lines.map((l) => get(l, 'uid')).filter((v): v is string => !!v),
    emails: lines.map((l) => get(l, 'email')).filter((v): v is string => !!v),
    ssoIds: lines.map((l) => get(l, 'ssoid')).filter((v): v is string => !!v),
  });
  const byId = new Map(known.map((a) => [a.id, a]));
  const byEmail = new Map(known.map((a) => [normalizeAccountKey(a.email), a]));

  const createSchema = createAccountSchema(org.domains);
  const patchSchema = patchAccountSchema(org.domains);
  const attributeColumns = columns.filter((c) => (ACCOUNT_ATTRIBUTE_NAMES as readonly string[]).includes(c));
  const plans: Plan[] = [];
  const lineOfAccount = new Map<string, number>();
  const now = ctx.clock.now();

  for (const l of lines) {
    const lineErrors: ImportLineError[] = [];
    const err = (field: string, message: string) => lineErrors.push({ line: l.line, field, message });
    const id = get(l, 'id') || undefined;
    const email = get(l, 'email') || undefined;
    const target = id !== undefined ? byId.get(id) : email !== undefined ? byEmail.get(normalizeAccountKey(email)) : undefined;
    if (id !== undefined && !target) err('id', `no account ${id} in this organisation`);
    if (id === undefined && email === undefined) err('email', 'an e-mail (or id) is needed to match or create the account');

    const status = get(l, 'status') || undefined;
    if (status !== undefined && status !== 'active' && status !== 'inactive') err('status', 'must be active or inactive');
    const role = get(l, 'role') || undefined;
    const attributes = Object.fromEntries(attributeColumns.map((c) => [c, get(l, c) ?? '']));
    const optional = (c: string) => (l.values.has(c) ? { [c === 'ssoid' ? 'ssoId' : c]: get(l, c) || null } : {});

    if (target && lineOfAccount.has(target.id)) {
      err(id !== undefined ? 'id' : 'email', `the same account is on line ${lineOfAccount.get(target.id)}`);
    } else if (target) {
      lineOfAccount.set(target.id, l.line);
      if (role !== undefined && role !== target.role) err('role', `roles cannot be changed by import (the account is ${target.role})`);
      const body: Record<string, unknown> = {
        ...(['uid', 'email', 'firstname', 'lastname'] as const).reduce((o, c) => (l.values.has(c) ? { ...o, [c]: get(l, c) } : o), {}),
        ...optional('ssoid'),
        ...optional('updateTimeStamp'),
        ...(attributeColumns.length > 0 && { attributes }),
      };
      const parsed = patchSchema.safeParse(body);
      if (!parsed.success) {
        lineErrors.push(...fieldErrors(l.line, parsed.error.issues, csvField));
      } else if (lineErrors.length === 0) {
        const { changes, after } = diffAccount(target, parsed.data);
        const statusChange = status !== undefined && status !== target.status ? (status as AccountStatus) : null;
        const changes_ = Object.keys(after).length > 0 ? changes : {};
        if (principal.role === 'userAdmin' && target.role !== 'member' && (Object.keys(changes_).length > 0 || statusChange)) {
          err(id !== undefined ? 'id' : 'email', 'a user administrator may only manage member accounts');
        }
        plans.push({ kind: 'update', line: l.line, account: target, changes: changes_, status: statusChange });
      }
    } else if (lineErrors.length === 0) {
      // Administrators are never created by import (guide: "CSV Fields").
      if (role !== undefined && role !== 'member') err('role', 'administrators cannot be created by import; create them one by one');
      const parsed = createSchema.safeParse({
        uid: get(l, 'uid') ?? '',
        email: email ?? '',
        firstname: get(l, 'firstname') ?? '',
        lastname: get(l, 'lastname') ?? '',
        role: 'member',
        status: status ?? 'active',
        ...(get(l, 'ssoid') && { ssoId: get(l, 'ssoid') }),
        ...(get(l, 'updateTimeStamp') && { updateTimeStamp: get(l, 'updateTimeStamp') }),
        attributes,
      });
      // A required value missing on a line that would create an account says so plainly.
      const missing = (['uid', 'firstname', 'lastname'] as const).filter((c) => !get(l, c));
      for (const c of missing) err(c, `required to create an account (no account has ${email ?? 'this e-mail'})`);
      if (!parsed.success) {
        lineErrors.push(...fieldErrors(l.line, parsed.error.issues, csvField).filter((e) => !(missing as readonly string[]).includes(e.field)));
      } else if (lineErrors.length === 0) {
        const d = parsed.data;
        plans.push({
          kind: 'create',
          line: l.line,
          account: {
            id: crypto.randomUUID(),
            orgId: org.id,
            uid: d.uid,
            email: d.email,
            firstname: d.firstname,
            lastname: d.lastname,
            status: d.status,
            role: 'member',
            ssoId: d.ssoId ?? null,
            attributes: Object.fromEntries(Object.entries(d.attributes ?? {}).filter((e): e is [string, string] => e[1] !== null)),
            updateTimeStamp: d.updateTimeStamp ?? null,
            createdAt: now,
          },
        });
      }
    }
    errors.push(...lineErrors);
  }

  // Checked over the lines that are valid so far, so one answer reports every problem.
  errors.push(...checkUniqueness(plans, known), ...(await checkPrimaryAdmin(ctx, org, plans)));
  if (errors.length > 0) {
    // By line, then in the file's column order, as the user reads the file.
    const position = (field: string) => columns.indexOf(field.split('.')[0]!);
    errors.sort((a, b) => a.line - b.line || position(a.field) - position(b.field));
    const first = errors[0]!;
    throw new ApiError(422, `line ${first.line}, ${first.field}: ${first.message} (${errors.length} error${errors.length > 1 ? 's' : ''}; nothing was imported)`, errors);
  }

  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, deactivated: 0, reactivated: 0, ignoredColumns };
  // Validation saw a consistent final state, so a unique violation is a concurrent change or
  // lines that swap identifiers between accounts (which needs two imports).
  await onUniqueViolation(async () => {
    await db.transaction().execute(async (trx) => {
      await lockOrgAccounts(trx, ctx.database.dialect, org.id);
      for (const plan of plans) {
        if (plan.kind === 'create') {
          await insertAccount(trx, plan.account);
          summary.created++;
          continue;
        }
        const hasChanges = Object.keys(plan.changes).length > 0;
        if (hasChanges && !(await updateAccount(trx, org.id, plan.account.id, plan.changes, now))) {
          throw ApiError.conflict(`line ${plan.line}: the account was removed meanwhile; nothing was imported`);
        }
        if (plan.status === 'inactive') {
          await deactivateInTransaction(trx, ctx.database.dialect, org.id, plan.account.id, now);
          summary.deactivated++;
        } else if (plan.status === 'active') {
          await setAccountStatus(trx, org.id, plan.account.id, 'active', now);
          summary.reactivated++;
        }
        if (hasChanges || plan.status !== null) summary.updated++;
        else summary.unchanged++;
      }
      if (summary.created + summary.updated > 0) {
        const { ignoredColumns: _ignored, ...counts } = summary;
        await recordAudit(
          trx,
          { orgId: org.id, actor: principal.actor, action: 'account.import', target: `org:${org.slug}`, details: { ...counts, lines: plans.length } },
          now,
        );
      }
    });
  }, () =>
    ApiError.conflict('a uid, e-mail or ssoid of the file was taken meanwhile (or lines swap them between accounts); nothing was imported'),
  );
  return summary;
}

/** After applying every line, no two accounts may share a uid, e-mail or ssoid. */
function checkUniqueness(plans: readonly Plan[], known: readonly Account[]): ImportLineError[] {
  const finalState = new Map<string, { line: number | null; uid: string; email: string; ssoId: string | null }>();
  for (const a of known) finalState.set(a.id, { line: null, uid: a.uid, email: a.email, ssoId: a.ssoId });
  for (const p of plans) {
    if (p.kind === 'create') {
      finalState.set(p.account.id, { line: p.line, uid: p.account.uid, email: p.account.email, ssoId: p.account.ssoId });
    } else {
      const a = { ...p.account, ...p.changes };
      finalState.set(p.account.id, { line: p.line, uid: a.uid, email: a.email, ssoId: a.ssoId });
    }
  }
  const errors: ImportLineError[] = [];
  for (const [field, keyOf] of [
    ['uid', (s: { uid: string }) => normalizeAccountKey(s.uid)],
    ['email', (s: { email: string }) => normalizeAccountKey(s.email)],
    ['ssoid', (s: { ssoId: string | null }) => s.ssoId],
  ] as const) {
    const holders = new Map<string, Array<number | null>>();
    for (const s of finalState.values()) {
      const key = keyOf(s as never);
      if (key === null) continue;
      holders.set(key, [...(holders.get(key) ?? []), s.line]);
    }
    for (const lines of holders.values()) {
      if (lines.length < 2) continue;
      const onLines = lines.filter((n): n is number => n !== null).sort((a, b) => a - b);
      const others = lines.length - onLines.length;
      for (const line of onLines) {
        const clash = onLines.filter((n) => n !== line);
        const where = [...(clash.length ? [`line ${clash.join(', ')}`] : []), ...(others ? ['an existing account'] : [])].join(' and ');
        errors.push({ line, field, message: `the same ${field} is used by ${where}` });
      }
    }
  }
  return errors;
}

/** The import may not deactivate the org's last active orgAdmin (R-ACC-6). */
async function checkPrimaryAdmin(ctx: AppContext, org: Org, plans: readonly Plan[]): Promise<ImportLineError[]> {
  const adminChanges = plans.filter(
    (p): p is Extract<Plan, { kind: 'update' }> => p.kind === 'update' && p.account.role === 'orgAdmin' && p.status !== null,
  );
  if (adminChanges.length === 0) return [];
  const active = await countActiveOrgAdmins(ctx.database.db, org.id);
  const delta = adminChanges.reduce((n, p) => n + (p.status === 'active' ? 1 : -1), 0);
  if (active === 0 || active + delta > 0) return [];
  return adminChanges
    .filter((p) => p.status === 'inactive')
    .map((p) => ({ line: p.line, field: 'status', message: "the organisation's only active administrator (its primary administrator) cannot be deactivated" }));
}
