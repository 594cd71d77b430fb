/**
 * A certificate input (an uploaded file or a generation request) that fedbridge refuses.
 * `field` names the offending input (`certificate`, `validityDays`, `keySize`, `commonName`,
 * `format`) so the API can answer 422 with a field error; `message` is written for the
 * administrator who uploaded the file, never an OpenSSL error string.
 */
export class CertificateInputError extends Error {
  override readonly name = 'CertificateInputError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
