/**
 * The few bucket operations the log store needs, over @google-cloud/storage,
 * with Tandem's object metadata: each log object carries `tandem-complete`,
 * `tandem-sha256` and `tandem-member` so that any member (or the passive
 * site) can tell a checkpoint from a finished log and verify its bytes.
 *
 * The client's own retries are switched off (see options.ts): the store
 * retries with its own backoff and never blocks a writer on the bucket.
 */
import type { Bucket } from '@google-cloud/storage';

export interface RemoteLog {
  size: number;
  generation: string;
  complete: boolean;
  /** Hex SHA-256 from the object's metadata, or null for an object Tandem did not write. */
  sha256: string | null;
  crc32c: string;
  /** Components of a composite object (1 for an ordinary one). */
  components: number;
}

/**
 * GCS refuses a composite object of more than 1024 components; a log that
 * has been appended to this often is rewritten whole once (back to 1).
 */
export const MAX_COMPONENTS = 1000;

/** Suffix of the temporary objects holding an appended chunk (a bucket lifecycle rule may delete leftovers: see server/README.md, "Checkpoints"). */
export const PART_SUFFIX = '.tandem-part';

export const CONTENT_TYPE = 'application/x-ndjson';

/** HTTP status of a client error (the library uses `code` for JSON API calls, gaxios `status`/`response.status`). */
export function statusOf(e: unknown): number | undefined {
  const o = e as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  if (!o) return undefined;
  if (typeof o.code === 'number') return o.code;
  if (typeof o.status === 'number') return o.status;
  if (typeof o.response?.status === 'number') return o.response.status;
  return undefined;
}

/** Whether a failed request may have reached the bucket anyway (no HTTP answer: reset, timeout). */
export function outcomeUnknown(e: unknown): boolean {
  return statusOf(e) === undefined;
}

export class LogObjects {
  constructor(
    private readonly bucket: Bucket,
    private readonly prefix: string,
    private readonly timeoutMs: number,
  ) {}

  get bucketName(): string {
    return this.bucket.name;
  }

  nameOf(key: string): string {
    return this.prefix + key;
  }

  /** Writes a whole log object if the live generation is still `ifGenerationMatch` ('0': must not exist); returns the new generation. */
  async put(key: string, data: Buffer, o: { ifGenerationMatch: string; complete: boolean; sha256: string; member: string }): Promise<string> {
    const file = this.bucket.file(this.nameOf(key));
    await file.save(data, {
      resumable: false,
      timeout: this.timeoutMs,
      // validation: the client compares the crc32c it computed with the one the bucket reports.
      validation: 'crc32c',
      contentType: CONTENT_TYPE,
      metadata: { metadata: { 'tandem-complete': String(o.complete), 'tandem-sha256': o.sha256, 'tandem-member': o.member } },
      preconditionOpts: { ifGenerationMatch: o.ifGenerationMatch as unknown as number },
    });
    const gen = file.metadata.generation;
    if (gen === undefined || gen === null) throw new Error(`upload of ${this.nameOf(key)} returned no generation`);
    return String(gen);
  }

  /**
   * Appends `data` to generation `base` of a log object without sending the
   * earlier bytes again: the chunk goes to a temporary object, then GCS
   * composes [base, chunk] into the log object, guarded by
   * `ifGenerationMatch: base` (so, as with put, a stale writer cannot
   * replace a newer version), with the new metadata. With no data, only the
   * metadata changes (a log sealed without new lines). Returns the new
   * generation and component count. The temporary object is deleted after;
   * a leftover (a crash in between) is harmless and named `*.tandem-part`.
   */
  async append(
    key: string,
    data: Buffer,
    o: { base: string; complete: boolean; sha256: string; member: string },
  ): Promise<{ generation: string; components: number; leftoverPart?: { name: string; error: unknown } }> {
    const name = this.nameOf(key);
    const sources: Array<{ name: string; generation: string }> = [{ name, generation: o.base }];
    let part: string | undefined;
    if (data.length > 0) {
      part = `${name}.${o.base}${PART_SUFFIX}`;
      const file = this.bucket.file(part);
      // No precondition: the part is private to this member and this base generation; a retry simply replaces it.
      await file.save(data, { resumable: false, timeout: this.timeoutMs, validation: 'crc32c', contentType: CONTENT_TYPE });
      sources.push({ name: part, generation: String(file.metadata.generation) });
    }
    const res = await new Promise<{ generation?: string | number; componentCount?: number }>((resolve, reject) =>
      this.bucket.file(name).request(
        {
          method: 'POST',
          uri: '/compose',
          timeout: this.timeoutMs,
          qs: { ifGenerationMatch: o.base },
          json: {
            destination: { contentType: CONTENT_TYPE, metadata: { 'tandem-complete': String(o.complete), 'tandem-sha256': o.sha256, 'tandem-member': o.member } },
            sourceObjects: sources,
          },
        },
        (err, body) => (err ? reject(err) : resolve(body as { generation?: string | number; componentCount?: number })),
      ),
    );
    if (res.generation === undefined || res.generation === null) throw new Error(`compose of ${name} returned no generation`);
    const out = { generation: String(res.generation), components: res.componentCount ?? 1 };
    if (!part) return out;
    try {
      await this.remove(part.slice(this.prefix.length), sources[1]!.generation);
      return out;
    } catch (error) {
      // The log itself is safe; the caller reports the litter.
      return { ...out, leftoverPart: { name: part, error } };
    }
  }

  /** The live object's facts, or null when it does not exist. */
  async stat(key: string): Promise<RemoteLog | null> {
    try {
      const [m] = await this.bucket.file(this.nameOf(key)).getMetadata({ timeout: this.timeoutMs } as never);
      const custom = (m.metadata ?? {}) as Record<string, unknown>;
      return {
        size: Number(m.size ?? 0),
        generation: String(m.generation),
        complete: custom['tandem-complete'] === 'true',
        sha256: typeof custom['tandem-sha256'] === 'string' ? custom['tandem-sha256'] : null,
        crc32c: String(m.crc32c ?? ''),
        components: Number(m.componentCount ?? 1),
      };
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  /**
   * Bytes [start, end] (inclusive) of one generation. Null when that
   * generation is no longer live (a newer checkpoint replaced it): the caller
   * stats again and retries.
   */
  async readRange(key: string, generation: string, start: number, end: number): Promise<Buffer | null> {
    try {
      const file = this.bucket.file(this.nameOf(key), { generation: generation as unknown as number });
      const [buf] = await file.download({ start, end });
      return buf;
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }

  /** Deletes one generation (no-op when it is already gone or replaced). */
  async remove(key: string, generation: string): Promise<void> {
    try {
      await this.bucket.file(this.nameOf(key)).delete({ ifGenerationMatch: generation as unknown as number });
    } catch (e) {
      if (statusOf(e) !== 404 && statusOf(e) !== 412) throw e;
    }
  }

  /** The whole object of one generation (validated against its crc32c by the client), or null when gone. */
  async readAll(key: string, generation: string): Promise<Buffer | null> {
    try {
      const [buf] = await this.bucket.file(this.nameOf(key), { generation: generation as unknown as number }).download();
      return buf;
    } catch (e) {
      if (statusOf(e) === 404) return null;
      throw e;
    }
  }
}
