/**
 * The GCS JSON API emulator's HTTP front: routes requests of the JSON API
 * (`/storage/v1/...`), the upload API (`/upload/storage/v1/...`) and the
 * download host form (`/download/storage/v1/...`) to the state in store.ts.
 * Plain node:http on 127.0.0.1; every connection is tracked so `close()`
 * never waits for a client's keep-alive socket.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { backendError, badRequest, GcsError, rangeNotSatisfiable } from './errors.js';
import { Faults, type RequestKind } from './faults.js';
import { parseMultipart } from './multipart.js';
import { parseContentRange, Sessions } from './resumable.js';
import { bucketResource, GcsState, objectResource, preconditionsFrom, type StoredObject } from './store.js';

/** The body of objects.compose. */
interface ComposeRequest {
  destination?: { contentType?: string; metadata?: Record<string, string> };
  sourceObjects?: Array<{ name?: string; generation?: string | number; objectPreconditions?: { ifGenerationMatch?: string | number } }>;
}

/** Largest request body accepted (a test emulator, not a product: generous). */
const MAX_BODY = 512 * 1024 * 1024;

interface Route {
  kind: RequestKind;
  handle: () => Promise<void> | void;
}

export class GcsEmulator {
  readonly state = new GcsState();
  readonly faults = new Faults();
  private readonly sessions = new Sessions();
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private baseUrl = '';
  /**
   * GCS may answer a rewrite with `done: false` and a token (large or
   * cross-location objects); a positive value here makes the emulator do so
   * for every rewrite larger than this many bytes, so clients' token loops run.
   */
  rewriteBytesPerCall = 0;

  get url(): string {
    return this.baseUrl;
  }

  async listen(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    const addr = server.address();
    if (!addr || typeof addr === 'string') throw new Error('GCS emulator: no TCP address');
    this.baseUrl = `http://127.0.0.1:${addr.port}`;
    return this.baseUrl;
  }

  /** Stops listening and closes every open connection (hanging requests included). State is kept for a later `listen`. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.faults.clear();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.baseUrl);
    let route: Route;
    try {
      route = this.route(req, res, url);
    } catch (e) {
      this.sendError(res, e);
      return;
    }
    const verdict = this.faults.intercept(route.kind, req, () => this.sendError(res, backendError()));
    if (verdict === 'faulted') return;
    if (verdict === 'dropResponse') {
      // The request is carried out in full; only its answer is lost.
      res.writeHead = (() => res) as unknown as typeof res.writeHead;
      res.end = (() => {
        req.socket.destroy();
        return res;
      }) as unknown as typeof res.end;
    }
    try {
      await route.handle();
    } catch (e) {
      this.sendError(res, e);
    }
  }

  private route(req: IncomingMessage, res: ServerResponse, url: URL): Route {
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    // Object names arrive percent-encoded (slashes as %2F), so splitting the raw path is safe.
    const seg = url.pathname.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const json = (status: number, body: unknown) => this.sendJson(res, status, body);

    if (seg[0] === 'upload' && seg[1] === 'storage' && seg[2] === 'v1' && seg[3] === 'b' && seg[5] === 'o' && seg.length === 6) {
      const bucket = seg[4]!;
      return { kind: 'upload', handle: () => this.upload(req, res, bucket, q) };
    }
    const api = seg[0] === 'storage' || seg[0] === 'download' ? seg.slice(2) : undefined;
    if (!api || seg[1] !== 'v1' || api[0] !== 'b') throw new GcsError(404, 'notFound', `Not Found: ${url.pathname}`);
    const [, bucket, o, name, verb, b2, dstBucket, o2, dstName] = api;

    if (bucket === undefined) {
      if (method === 'GET') {
        return {
          kind: 'bucket',
          handle: () =>
            json(200, { kind: 'storage#buckets', items: [...this.state.buckets.values()].map((b) => bucketResource(b, this.baseUrl)) }),
        };
      }
      if (method === 'POST') {
        return {
          kind: 'bucket',
          handle: async () => {
            const body = (await readJson(req)) as { name?: string };
            if (!body.name) throw badRequest('Required: bucket name');
            json(200, bucketResource(this.state.createBucket(body.name), this.baseUrl));
          },
        };
      }
    } else if (o === undefined) {
      if (method === 'GET') return { kind: 'bucket', handle: () => json(200, bucketResource(this.state.bucket(bucket), this.baseUrl)) };
      if (method === 'DELETE') {
        return {
          kind: 'bucket',
          handle: () => {
            this.state.deleteBucket(bucket);
            this.sendEmpty(res, 204);
          },
        };
      }
    } else if (o === 'o' && name === undefined && method === 'GET') {
      return { kind: 'list', handle: () => json(200, this.list(bucket, q)) };
    } else if (o === 'o' && name !== undefined && verb === undefined) {
      if (method === 'GET') {
        return q.get('alt') === 'media' || seg[0] === 'download'
          ? { kind: 'download', handle: () => this.download(req, res, bucket, name, q) }
          : {
              kind: 'metadata',
              handle: () => json(200, objectResource(this.state.read(bucket, name, preconditionsFrom(q), q.get('generation') ?? undefined), this.baseUrl)),
            };
      }
      if (method === 'DELETE') {
        return {
          kind: 'delete',
          handle: () => {
            this.state.delete(bucket, name, preconditionsFrom(q));
            this.sendEmpty(res, 204);
          },
        };
      }
      if (method === 'PATCH' || method === 'PUT') {
        return {
          kind: 'patch',
          handle: async () => {
            const body = (await readJson(req)) as { contentType?: string; metadata?: Record<string, string | null> };
            json(200, objectResource(this.state.patch(bucket, name, body, preconditionsFrom(q)), this.baseUrl));
          },
        };
      }
    } else if (o === 'o' && name !== undefined && verb === 'compose' && b2 === undefined && method === 'POST') {
      return {
        kind: 'compose',
        handle: async () => json(200, this.compose(bucket, name, (await readJson(req)) as ComposeRequest, q)),
      };
    } else if (o === 'o' && name !== undefined && (verb === 'rewriteTo' || verb === 'copyTo') && b2 === 'b' && o2 === 'o' && dstBucket && dstName !== undefined && method === 'POST') {
      return {
        kind: verb === 'rewriteTo' ? 'rewrite' : 'copy',
        handle: async () => {
          const body = (await readJson(req)) as { contentType?: string; metadata?: Record<string, string> };
          json(200, this.copy(verb, bucket, name, dstBucket, dstName, body, q));
        },
      };
    }
    throw new GcsError(404, 'notFound', `Not Found: ${method} ${url.pathname}`);
  }

  private list(bucket: string, q: URLSearchParams): Record<string, unknown> {
    const b = this.state.bucket(bucket);
    const prefix = q.get('prefix') ?? '';
    const delimiter = q.get('delimiter') ?? '';
    const startOffset = q.get('startOffset') ?? '';
    const endOffset = q.get('endOffset');
    const max = Math.max(1, Math.min(1000, Number(q.get('maxResults') ?? 1000) || 1000));
    const after = q.get('pageToken') ? Buffer.from(q.get('pageToken')!, 'base64url').toString('utf8') : undefined;

    // One sorted sequence of entries (objects and collapsed prefixes), paged by the last key returned.
    const entries = new Map<string, StoredObject | 'prefix'>();
    for (const [name, obj] of b.objects) {
      if (!name.startsWith(prefix) || name < startOffset || (endOffset !== null && name >= endOffset)) continue;
      const cut = delimiter ? name.indexOf(delimiter, prefix.length) : -1;
      if (cut >= 0) entries.set(name.slice(0, cut + delimiter.length), 'prefix');
      else entries.set(name, obj);
    }
    const keys = [...entries.keys()].sort().filter((k) => after === undefined || k > after);
    const page = keys.slice(0, max);
    const items: Record<string, unknown>[] = [];
    const prefixes: string[] = [];
    for (const k of page) {
      const e = entries.get(k)!;
      if (e === 'prefix') prefixes.push(k);
      else items.push(objectResource(e, this.baseUrl));
    }
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (keys.length > page.length) out.nextPageToken = Buffer.from(page[page.length - 1]!).toString('base64url');
    if (prefixes.length) out.prefixes = prefixes;
    if (items.length) out.items = items;
    return out;
  }

  private download(req: IncomingMessage, res: ServerResponse, bucket: string, name: string, q: URLSearchParams): void {
    const obj = this.state.read(bucket, name, preconditionsFrom(q), q.get('generation') ?? undefined);
    const size = obj.data.length;
    const headers: Record<string, string> = {
      'Content-Type': obj.contentType,
      'Accept-Ranges': 'bytes',
      ETag: `"${obj.md5Hash ?? obj.crc32c}"`,
      'x-goog-hash': obj.md5Hash === null ? `crc32c=${obj.crc32c}` : `crc32c=${obj.crc32c},md5=${obj.md5Hash}`,
      'x-goog-generation': String(obj.generation),
      'x-goog-metageneration': String(obj.metageneration),
      'x-goog-stored-content-encoding': 'identity',
      'x-goog-stored-content-length': String(size),
    };
    const range = req.headers.range;
    if (range) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw badRequest(`Invalid Range: ${range}`);
      let start: number, end: number;
      if (m[1] === '') {
        start = Math.max(0, size - Number(m[2])); // suffix: the last N bytes
        end = size - 1;
      } else {
        start = Number(m[1]);
        end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      }
      if (start >= size || end < start) throw rangeNotSatisfiable();
      const part = obj.data.subarray(start, end + 1);
      res.writeHead(206, { ...headers, 'Content-Length': String(part.length), 'Content-Range': `bytes ${start}-${end}/${size}` });
      res.end(part);
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    res.end(obj.data);
  }

  /**
   * objects.compose: the destination becomes the concatenation of 1 to 32
   * source objects of the same bucket (each optionally pinned to a
   * generation, or guarded by `objectPreconditions.ifGenerationMatch`), with
   * the destination's preconditions from the query. As in GCS the result is a
   * composite object: it has a componentCount (at most 1024) and no MD5.
   */
  private compose(bucket: string, name: string, body: ComposeRequest, q: URLSearchParams): Record<string, unknown> {
    const sources = body.sourceObjects ?? [];
    if (sources.length === 0) throw badRequest('Required: sourceObjects');
    if (sources.length > 32) throw badRequest('The number of source objects provided exceeds the maximum of 32.');
    let components = 0;
    const parts = sources.map((s) => {
      if (!s.name) throw badRequest('Required: sourceObjects[].name');
      const src = this.state.read(bucket, s.name, {}, s.generation === undefined ? undefined : String(s.generation));
      const expected = s.objectPreconditions?.ifGenerationMatch;
      if (expected !== undefined && BigInt(expected) !== src.generation) throw new GcsError(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.');
      components += src.componentCount ?? 1;
      return src.data;
    });
    if (components > 1024) throw badRequest(`The number of components (${components}) exceeds the maximum of 1024.`);
    const dest = body.destination ?? {};
    const obj = this.state.write(bucket, name, Buffer.concat(parts), { contentType: dest.contentType, metadata: dest.metadata, componentCount: components }, preconditionsFrom(q));
    return objectResource(obj, this.baseUrl);
  }

  private copy(
    verb: 'rewriteTo' | 'copyTo',
    srcBucket: string,
    srcName: string,
    dstBucket: string,
    dstName: string,
    body: { contentType?: string; metadata?: Record<string, string> },
    q: URLSearchParams,
  ): Record<string, unknown> {
    const src = this.state.read(srcBucket, srcName, preconditionsFrom(q, 'ifSource'), q.get('sourceGeneration') ?? undefined);
    this.state.bucket(dstBucket);
    const opts = { contentType: body.contentType ?? src.contentType, metadata: body.metadata ?? { ...src.metadata } };
    const pre = preconditionsFrom(q);
    if (verb === 'copyTo') return objectResource(this.state.write(dstBucket, dstName, Buffer.from(src.data), opts, pre), this.baseUrl);

    // rewriteTo may take several calls: honour maxBytesRewrittenPerCall with a rewriteToken.
    const size = src.data.length;
    const perCall = Number(q.get('maxBytesRewrittenPerCall') ?? 0) || this.rewriteBytesPerCall;
    const token = q.get('rewriteToken');
    let done = 0;
    if (token) {
      const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { generation: string; done: number };
      if (t.generation !== String(src.generation)) throw badRequest('rewriteToken does not match the source generation');
      done = t.done;
    }
    done = perCall > 0 ? Math.min(size, done + perCall) : size;
    if (done < size) {
      return {
        kind: 'storage#rewriteResponse',
        totalBytesRewritten: String(done),
        objectSize: String(size),
        done: false,
        rewriteToken: Buffer.from(JSON.stringify({ generation: String(src.generation), done })).toString('base64url'),
      };
    }
    const obj = this.state.write(dstBucket, dstName, Buffer.from(src.data), opts, pre);
    return {
      kind: 'storage#rewriteResponse',
      totalBytesRewritten: String(size),
      objectSize: String(size),
      done: true,
      resource: objectResource(obj, this.baseUrl),
    };
  }

  private async upload(req: IncomingMessage, res: ServerResponse, bucket: string, q: URLSearchParams): Promise<void> {
    const method = req.method ?? 'POST';
    const uploadType = q.get('uploadType');
    const pre = preconditionsFrom(q);
    const write = (name: string | null | undefined, data: Buffer, contentType?: string, metadata?: Record<string, string>) => {
      if (!name) throw badRequest('Required: object name');
      const obj = this.state.write(bucket, name, data, { contentType, metadata }, pre);
      this.sendJson(res, 200, objectResource(obj, this.baseUrl));
    };

    if (method === 'POST' && uploadType === 'media') {
      const data = await readBody(req);
      write(q.get('name'), data, req.headers['content-type']);
      return;
    }
    if (method === 'POST' && uploadType === 'multipart') {
      const parts = parseMultipart(req.headers['content-type'], await readBody(req));
      if (parts.length !== 2) throw badRequest(`multipart upload needs 2 parts, got ${parts.length}`);
      const meta = JSON.parse(parts[0]!.body.toString('utf8') || '{}') as { name?: string; contentType?: string; metadata?: Record<string, string> };
      write(q.get('name') ?? meta.name, parts[1]!.body, meta.contentType ?? parts[1]!.headers['content-type'], meta.metadata);
      return;
    }
    if (method === 'POST' && uploadType === 'resumable') {
      const meta = (await readJson(req)) as { name?: string; contentType?: string; metadata?: Record<string, string> };
      const name = q.get('name') ?? meta.name;
      if (!name) throw badRequest('Required: object name');
      this.state.checkWrite(bucket, name, pre);
      const contentType = meta.contentType ?? (req.headers['x-upload-content-type'] as string | undefined);
      const s = this.sessions.open(bucket, name, pre, contentType, meta.metadata);
      const location = `${this.baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${s.id}`;
      res.writeHead(200, { Location: location, 'Content-Length': '0' });
      res.end();
      return;
    }
    if (method === 'DELETE' && q.get('upload_id')) {
      this.sessions.cancel(q.get('upload_id'));
      this.sendEmpty(res, 499);
      return;
    }
    if (method === 'PUT' && q.get('upload_id')) {
      const s = this.sessions.get(q.get('upload_id'));
      const range = parseContentRange(req.headers['content-range']);
      const body = await readBody(req);
      if (s.result) {
        this.sendJson(res, 200, objectResource(s.result, this.baseUrl));
        return;
      }
      let complete: boolean;
      if (!range) {
        // No Content-Range: the body is the whole object.
        complete = this.sessions.append(s, { kind: 'data', first: 0, last: undefined, total: undefined }, body);
      } else if (range.kind === 'status') {
        complete = range.total !== undefined && range.total === s.received;
      } else {
        complete = this.sessions.append(s, range, body);
      }
      if (complete) {
        s.result = this.state.write(s.bucket, s.name, this.sessions.data(s), { contentType: s.contentType, metadata: s.metadata }, s.pre);
        this.sendJson(res, 200, objectResource(s.result, this.baseUrl));
        return;
      }
      const headers: Record<string, string> = { 'Content-Length': '0' };
      if (s.received > 0) headers.Range = `bytes=0-${s.received - 1}`;
      res.writeHead(308, headers);
      res.end();
      return;
    }
    throw badRequest(`Unsupported upload request: ${method} uploadType=${uploadType ?? ''}`);
  }

  private sendJson(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  private sendEmpty(res: ServerResponse, status: number): void {
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
  }

  private sendError(res: ServerResponse, e: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const err = e instanceof GcsError ? e : new GcsError(500, 'backendError', e instanceof Error ? e.message : String(e));
    if (err.status === 304) return this.sendEmpty(res, 304);
    this.sendJson(res, err.status, err.body());
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > MAX_BODY) throw new GcsError(413, 'uploadTooLarge', 'Request body too large for the emulator');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readBody(req);
  if (body.length === 0) return {};
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw badRequest('Parse Error: the request body is not JSON');
  }
}

