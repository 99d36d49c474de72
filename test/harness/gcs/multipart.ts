/**
 * Parser for `multipart/related` bodies (the JSON API's `uploadType=multipart`:
 * a JSON metadata part followed by the media part).
 */
import { badRequest } from './errors.js';

export interface Part {
  headers: Record<string, string>;
  body: Buffer;
}

export function parseMultipart(contentType: string | undefined, body: Buffer): Part[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType ?? '');
  if (!m || !/^multipart\//i.test(contentType ?? '')) throw badRequest('multipart upload needs a multipart/related body with a boundary');
  const delimiter = Buffer.from(`--${m[1]}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw badRequest('multipart body without its boundary');
  for (;;) {
    pos += delimiter.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break; // closing delimiter
    if (body.subarray(pos, pos + 2).toString() === '\r\n') pos += 2;
    const next = body.indexOf(delimiter, pos);
    if (next < 0) throw badRequest('multipart body is not terminated');
    // The part ends with the CRLF that precedes the next delimiter.
    let end = next;
    if (body[end - 2] === 0x0d && body[end - 1] === 0x0a) end -= 2;
    const part = body.subarray(pos, end);
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) throw badRequest('multipart part without headers');
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    parts.push({ headers, body: part.subarray(split + 4) });
    pos = next;
  }
  return parts;
}
