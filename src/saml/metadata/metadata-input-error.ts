/**
 * Why a metadata document (or the request carrying it) is refused: a message a person
 * understands, the field it is about, and the HTTP status the admin API answers with (422 bad
 * input, 409 conflict with the org's state such as the limit of three certificates). Pure
 * modules throw it; the flow turns it into an ApiError.
 */
export class MetadataInputError extends Error {
  override readonly name = 'MetadataInputError';
  constructor(
    message: string,
    readonly field: string = 'metadata',
    readonly status: 422 | 409 = 422,
  ) {
    super(message);
  }
}
