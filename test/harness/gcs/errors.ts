/**
 * GCS JSON API error bodies, shaped as Google sends them
 * (`{error:{code,message,errors:[{domain,reason,message}]}}`), because the
 * client library reads `code`, `message` and `errors[].reason` to decide what
 * to retry and what to throw.
 */
export class GcsError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly extra: { location?: string; locationType?: string } = {},
  ) {
    super(message);
  }

  body(): { error: { code: number; message: string; errors: Array<Record<string, string>> } } {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ domain: 'global', reason: this.reason, message: this.message, ...this.extra }],
      },
    };
  }
}

export const noSuchBucket = () => new GcsError(404, 'notFound', 'The specified bucket does not exist.');
export const noSuchObject = (bucket: string, name: string) => new GcsError(404, 'notFound', `No such object: ${bucket}/${name}`);
export const preconditionFailed = (location = 'If-Match') =>
  new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.', {
    locationType: 'header',
    location,
  });
export const notModified = () => new GcsError(304, 'notModified', 'Not Modified');
export const badRequest = (message: string) => new GcsError(400, 'invalid', message);
export const backendError = () => new GcsError(503, 'backendError', 'We encountered an internal error. Please try again.');
export const conflict = (message: string) => new GcsError(409, 'conflict', message);
export const rangeNotSatisfiable = () =>
  new GcsError(416, 'requestedRangeNotSatisfiable', 'The requested range cannot be satisfied.');
