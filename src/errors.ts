/**
 * Expected domain refusals carry a stable string code that the CLI and (later) the HTTP API
 * turn into a clear answer. Unknown failures stay plain Errors.
 */
export class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DomainError';
  }
}
