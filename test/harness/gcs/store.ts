/**
 * The emulator's state: buckets and the live generation of each object, in
 * memory. Generations are strictly increasing microsecond timestamps (as in
 * GCS), metagenerations start at 1 and grow with metadata updates.
 * Preconditions are evaluated here so that every write path (uploads,
 * rewrite, copy, patch, delete) applies them the same way.
 */
import { createHash } from 'node:crypto';
import { CRC32C } from '@google-cloud/storage';
import { conflict, noSuchBucket, noSuchObject, notModified, preconditionFailed } from './errors.js';

export interface StoredObject {
  bucket: string;
  name: string;
  data: Buffer;
  generation: bigint;
  metageneration: number;
  contentType: string;
  metadata: Record<string, string>;
  /** Null for composite objects: GCS keeps no MD5 for them (clients validate with crc32c). */
  md5Hash: string | null;
  crc32c: string;
  /** Number of components of a composite object (absent: an ordinary object, 1 component). */
  componentCount?: number;
  timeCreated: string;
  updated: string;
}

export interface Bucket {
  name: string;
  timeCreated: string;
  objects: Map<string, StoredObject>;
}

/** Query parameters that act as preconditions (strings as they arrive in the URL). */
export interface Preconditions {
  ifGenerationMatch?: string;
  ifGenerationNotMatch?: string;
  ifMetagenerationMatch?: string;
  ifMetagenerationNotMatch?: string;
}

export function preconditionsFrom(q: URLSearchParams, prefix = ''): Preconditions {
  const get = (k: string) => q.get(prefix ? prefix + k[0]!.toUpperCase() + k.slice(1) : k) ?? undefined;
  return {
    ifGenerationMatch: get('ifGenerationMatch'),
    ifGenerationNotMatch: get('ifGenerationNotMatch'),
    ifMetagenerationMatch: get('ifMetagenerationMatch'),
    ifMetagenerationNotMatch: get('ifMetagenerationNotMatch'),
  };
}

export function crc32cOf(data: Buffer): string {
  const c = new CRC32C();
  c.update(data);
  return c.toString();
}

export function md5Of(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export class GcsState {
  readonly buckets = new Map<string, Bucket>();
  private lastGeneration = 0n;

  private nextGeneration(): bigint {
    const now = BigInt(Date.now()) * 1000n;
    this.lastGeneration = now > this.lastGeneration ? now : this.lastGeneration + 1n;
    return this.lastGeneration;
  }

  createBucket(name: string): Bucket {
    if (this.buckets.has(name)) throw conflict('Your previous request to create the named bucket succeeded and you already own it.');
    const b: Bucket = { name, timeCreated: new Date().toISOString(), objects: new Map() };
    this.buckets.set(name, b);
    return b;
  }

  bucket(name: string): Bucket {
    const b = this.buckets.get(name);
    if (!b) throw noSuchBucket();
    return b;
  }

  deleteBucket(name: string): void {
    const b = this.bucket(name);
    if (b.objects.size > 0) throw conflict('The bucket you tried to delete is not empty.');
    this.buckets.delete(name);
  }

  /** The live object, or 404; for reads (so NotMatch failures are 304 as in GCS). */
  read(bucket: string, name: string, pre: Preconditions = {}, generation?: string): StoredObject {
    const obj = this.bucket(bucket).objects.get(name);
    if (!obj || (generation !== undefined && BigInt(generation) !== obj.generation)) throw noSuchObject(bucket, name);
    checkPreconditions(obj, pre, 'read');
    return obj;
  }

  /** Validates preconditions for a write of `name` without writing (used when a resumable session starts). */
  checkWrite(bucket: string, name: string, pre: Preconditions): void {
    checkPreconditions(this.bucket(bucket).objects.get(name), pre, 'write');
  }

  /** Stores a new generation of an object if the preconditions hold. */
  write(
    bucket: string,
    name: string,
    data: Buffer,
    opts: { contentType?: string; metadata?: Record<string, string>; componentCount?: number },
    pre: Preconditions,
  ): StoredObject {
    const b = this.bucket(bucket);
    checkPreconditions(b.objects.get(name), pre, 'write');
    const now = new Date().toISOString();
    const obj: StoredObject = {
      bucket,
      name,
      data,
      generation: this.nextGeneration(),
      metageneration: 1,
      contentType: opts.contentType ?? 'application/octet-stream',
      metadata: opts.metadata ?? {},
      md5Hash: opts.componentCount === undefined ? md5Of(data) : null,
      crc32c: crc32cOf(data),
      ...(opts.componentCount === undefined ? {} : { componentCount: opts.componentCount }),
      timeCreated: now,
      updated: now,
    };
    b.objects.set(name, obj);
    return obj;
  }

  patch(bucket: string, name: string, changes: { contentType?: string; metadata?: Record<string, string | null> }, pre: Preconditions): StoredObject {
    const obj = this.bucket(bucket).objects.get(name);
    if (!obj) throw noSuchObject(bucket, name);
    checkPreconditions(obj, pre, 'write');
    if (changes.contentType !== undefined) obj.contentType = changes.contentType;
    if (changes.metadata) {
      for (const [k, v] of Object.entries(changes.metadata)) {
        if (v === null) delete obj.metadata[k];
        else obj.metadata[k] = String(v);
      }
    }
    obj.metageneration += 1;
    obj.updated = new Date().toISOString();
    return obj;
  }

  delete(bucket: string, name: string, pre: Preconditions): void {
    const b = this.bucket(bucket);
    const obj = b.objects.get(name);
    if (!obj) throw noSuchObject(bucket, name);
    checkPreconditions(obj, pre, 'write');
    b.objects.delete(name);
  }
}

function checkPreconditions(obj: StoredObject | undefined, pre: Preconditions, op: 'read' | 'write'): void {
  const gen = obj?.generation ?? 0n;
  if (pre.ifGenerationMatch !== undefined && BigInt(pre.ifGenerationMatch) !== gen) throw preconditionFailed();
  if (pre.ifMetagenerationMatch !== undefined && (!obj || BigInt(pre.ifMetagenerationMatch) !== BigInt(obj.metageneration))) {
    throw preconditionFailed();
  }
  const notMatchFailed =
    (pre.ifGenerationNotMatch !== undefined && BigInt(pre.ifGenerationNotMatch) === gen) ||
    (pre.ifMetagenerationNotMatch !== undefined && obj !== undefined && BigInt(pre.ifMetagenerationNotMatch) === BigInt(obj.metageneration));
  if (notMatchFailed) throw op === 'read' ? notModified() : preconditionFailed('If-None-Match');
}

/** The JSON resource of an object, as `objects.get` returns it. */
export function objectResource(obj: StoredObject, baseUrl: string): Record<string, unknown> {
  const enc = encodeURIComponent(obj.name);
  return {
    kind: 'storage#object',
    id: `${obj.bucket}/${obj.name}/${obj.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${obj.bucket}/o/${enc}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${obj.bucket}/o/${enc}?generation=${obj.generation}&alt=media`,
    name: obj.name,
    bucket: obj.bucket,
    generation: String(obj.generation),
    metageneration: String(obj.metageneration),
    contentType: obj.contentType,
    storageClass: 'STANDARD',
    size: String(obj.data.length),
    ...(obj.md5Hash === null ? {} : { md5Hash: obj.md5Hash }),
    crc32c: obj.crc32c,
    ...(obj.componentCount === undefined ? {} : { componentCount: obj.componentCount }),
    etag: Buffer.from(`${obj.generation}/${obj.metageneration}`).toString('base64'),
    timeCreated: obj.timeCreated,
    updated: obj.updated,
    timeStorageClassUpdated: obj.timeCreated,
    ...(Object.keys(obj.metadata).length ? { metadata: { ...obj.metadata } } : {}),
  };
}

export function bucketResource(b: Bucket, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: b.name,
    selfLink: `${baseUrl}/storage/v1/b/${b.name}`,
    name: b.name,
    projectNumber: '0',
    metageneration: '1',
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
  };
}
