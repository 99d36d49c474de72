/**
 * One field of a multipart/form-data body (Rundeck's `xmlBatch` upload).
 * The body is already bounded by `server.bodyLimit`; parts are split on the
 * boundary from the Content-Type, headers and content on the first blank
 * line. Enough for the one text field a job import sends; not a general
 * multipart library.
 */
import { TandemError } from '../errors.js';

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  content: Buffer;
}

export function parseMultipart(contentType: string, body: Buffer): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  if (!m) throw new TandemError('bad_request', 'multipart/form-data without a boundary');
  const delimiter = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new TandemError('bad_request', 'multipart body does not contain its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw new TandemError('bad_request', 'multipart body is not terminated');
    // Skip the CRLF after the delimiter; the part ends with the CRLF before the next delimiter.
    const part = body.subarray(pos + 2, next - 2);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw new TandemError('bad_request', 'multipart part without headers');
    const headers = part.subarray(0, split).toString('utf8');
    const disposition = /content-disposition:[^\r\n]*/i.exec(headers)?.[0] ?? '';
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1];
    if (name !== undefined) {
      parts.push({
        name,
        filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
        contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim(),
        content: part.subarray(split + 4),
      });
    }
    pos = next;
  }
  return parts;
}
