/**
 * Accounts of an organisation's users (migration 0004-accounts; SPEC R-ACC, R-ACC-7).
 * `uid_norm`, `email_norm` and `name_norm` hold the NFC, lower-cased forms: the unique indexes
 * and searches use them so "JDoe" and "jdoe" are one account on SQLite and PostgreSQL alike
 * (a lower() expression index would behave differently on the two engines for non-ASCII).
 */
export interface AccountsTable {
  id: string;
  org_id: string;
  uid: string;
  uid_norm: string;
  email: string;
  email_norm: string;
  firstname: string;
  lastname: string;
  /** `firstname lastname`, normalized, for the `q` search. */
  name_norm: string;
  status: string; // active | inactive
  role: string; // member | orgAdmin | userAdmin
  /** The IdP's stable identifier (R-ACC-2); compared exactly (it may be base64). */
  sso_id: string | null;
  attributes: string; // JSON object: profile attributes keyed by our attribute name
  update_time_stamp: number | null;
  created_at: number;
  updated_at: number;
}

export interface AccountsTables {
  accounts: AccountsTable;
}
