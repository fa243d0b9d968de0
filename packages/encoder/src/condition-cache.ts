// A persistent cache of encoder conditions in Arrow IPC files, keyed by (prompt sha256, encoder digest, L):
// a prompt already encoded is read back instead of encoded again, across restarts. Not the encoder.
// Layout: <root>/<encoder digest>/L<L>/seg-<time>-<pid>-<rand>.arrow, one immutable segment per write, written
// to a temporary name and renamed into place, so any number of writers (processes) can add segments at once
// and readers see whole segments only; segments are merged on read (first one wins for a duplicate key).
//
// Dimensions: R = rows (prompts) in a segment batch, L = padded length, C = state width.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import {
  Field, FixedSizeList, Float32, makeData, RecordBatch, RecordBatchReader, Schema, Struct, Table, tableToIPC, Uint8, Utf8, vectorFromArray,
} from 'apache-arrow';
import { checkNumber, mergeConfig, writeFileAtomic } from '@dnd/core';
import type { EncodeOptions, EncodeResult, TextEncoder } from './types';

export const CONDITION_CACHE_SCHEMA_VERSION = '1';

/** How segments are written. */
export interface ConditionCacheConfig {
  /** Rows per Arrow record batch: the unit a lookup reads (a batch of 64 x 384 x 384 fp32 is 38 MB). */
  rowsPerBatch: number;
}

export const DEFAULT_CONDITION_CACHE_CONFIG: ConditionCacheConfig = { rowsPerBatch: 64 };

/** Throws naming the field and the value. */
export function validateConditionCacheConfig(c: ConditionCacheConfig): void {
  checkNumber('ConditionCacheConfig', 'rowsPerBatch', c.rowsPerBatch, { min: 1, integer: true });
}

/** sha256 hex of a prompt's UTF-8 bytes: the cache's row key. */
export function promptHash(prompt: string): string {
  return crypto.createHash('sha256').update(prompt, 'utf8').digest('hex');
}

/** One cached prompt. */
export interface CachedCondition {
  condition: Float32Array; // [L, C]
  mask: Uint8Array; // [L]
  truncated: boolean;
}

interface SegmentIndex { file: string; keys: string[][] } // keys[batch][row]

/** The Arrow-file condition cache. Safe for several processes writing the same root. */
export class ConditionCache {
  readonly config: ConditionCacheConfig;
  private readonly segments = new Map<string, SegmentIndex>(); // by file
  private readonly where = new Map<string, { file: string; batch: number; row: number }>(); // by `${digest}/L${L}/${hash}`

  constructor(readonly root: string, config?: Partial<ConditionCacheConfig>) {
    this.config = mergeConfig(DEFAULT_CONDITION_CACHE_CONFIG, config, 'ConditionCacheConfig');
    validateConditionCacheConfig(this.config);
  }

  private dir(digest: string, L: number): string {
    if (!/^[0-9a-f]{16,128}$/.test(digest)) throw new Error(`ConditionCache: encoder digest must be lower-case hex, got ${JSON.stringify(digest)}`);
    checkNumber('ConditionCache', 'maxLength', L, { min: 1, integer: true });
    return path.join(this.root, digest, `L${L}`);
  }

  /** Indexes segments written since the last scan (by this or any other process); reads footers only. */
  private async refresh(digest: string, L: number): Promise<void> {
    const dir = this.dir(digest, L);
    if (!fs.existsSync(dir)) return;
    const files = fs.readdirSync(dir).filter((f) => /^seg-.*\.arrow$/.test(f)).sort();
    for (const name of files) {
      const file = path.join(dir, name);
      if (this.segments.has(file)) continue;
      const fh = await fs.promises.open(file, 'r');
      try {
        const r = await RecordBatchReader.from(fh);
        await r.open();
        const md = r.schema.metadata;
        if (md.get('encoder_digest') !== digest || md.get('max_length') !== String(L)) {
          throw new Error(`ConditionCache: segment ${file} is for digest ${md.get('encoder_digest')} / L=${md.get('max_length')}, not ${digest} / L=${L}`);
        }
        const keys = JSON.parse(md.get('keys') ?? '[]') as string[][];
        this.segments.set(file, { file, keys });
        keys.forEach((rows, batch) => rows.forEach((h, row) => {
          const k = `${digest}/L${L}/${h}`;
          if (!this.where.has(k)) this.where.set(k, { file, batch, row });
        }));
      } finally {
        await fh.close();
      }
    }
  }

  /** Which of `hashes` are cached for this encoder and L. */
  async has(digest: string, L: number, hashes: string[]): Promise<boolean[]> {
    await this.refresh(digest, L);
    return hashes.map((h) => this.where.has(`${digest}/L${L}/${h}`));
  }

  /** Reads the cached rows of `hashes` (missing ones are absent from the map). */
  async get(digest: string, L: number, hashes: string[]): Promise<Map<string, CachedCondition>> {
    await this.refresh(digest, L);
    const out = new Map<string, CachedCondition>();
    const byBatch = new Map<string, { file: string; batch: number; rows: Array<[string, number]> }>();
    for (const h of new Set(hashes)) {
      const w = this.where.get(`${digest}/L${L}/${h}`);
      if (!w) continue;
      const k = `${w.file}#${w.batch}`;
      if (!byBatch.has(k)) byBatch.set(k, { file: w.file, batch: w.batch, rows: [] });
      byBatch.get(k)!.rows.push([h, w.row]);
    }
    const byFile = new Map<string, Array<{ batch: number; rows: Array<[string, number]> }>>();
    for (const b of byBatch.values()) byFile.set(b.file, [...(byFile.get(b.file) ?? []), b]);
    for (const [file, batches] of byFile) {
      const fh = await fs.promises.open(file, 'r');
      try {
        const r = await RecordBatchReader.from(fh);
        await r.open();
        for (const { batch, rows } of batches) {
          const rb = (await (r as any).readRecordBatch(batch)) as RecordBatch;
          const cond = rb.getChild('condition')!.data[0]!;
          const C = (cond.type as FixedSizeList).listSize / L;
          const condValues = cond.children[0]!.values as Float32Array; // [R * L * C]
          const maskValues = rb.getChild('mask')!.data[0]!.children[0]!.values as Uint8Array; // [R * L]
          const trunc = rb.getChild('truncated')!.data[0]!.values as Uint8Array; // [R]
          for (const [h, row] of rows) {
            out.set(h, {
              condition: condValues.slice(row * L * C, (row + 1) * L * C),
              mask: maskValues.slice(row * L, (row + 1) * L),
              truncated: trunc[row] === 1,
            });
          }
        }
      } finally {
        await fh.close();
      }
    }
    return out;
  }

  /**
   * Writes one segment for `hashes` (rows of `result`, in order). Atomic; other writers are unaffected.
   * @param result an encode result whose rows belong to `hashes` // condition [R, L, C]
   */
  async put(digest: string, hashes: string[], result: EncodeResult): Promise<string> {
    const [R, L, C] = result.condition.shape as [number, number, number];
    const dir = this.dir(digest, L);
    if (hashes.length !== R) throw new Error(`ConditionCache.put: ${hashes.length} hashes for ${R} rows`);
    if (result.mask.length !== R * L || result.condition.data.length !== R * L * C) throw new Error(`ConditionCache.put: condition/mask sizes do not match shape [${R}, ${L}, ${C}]`);
    const truncated = new Uint8Array(R);
    for (const i of result.truncatedIndices) truncated[i] = 1;
    const fields = [
      new Field('prompt_sha256', new Utf8(), false),
      new Field('condition', new FixedSizeList(L * C, new Field('item', new Float32(), false)), false),
      new Field('mask', new FixedSizeList(L, new Field('item', new Uint8(), false)), false),
      new Field('truncated', new Uint8(), false),
    ];
    const keys: string[][] = [];
    const batches: RecordBatch[] = [];
    const step = this.config.rowsPerBatch;
    for (let r0 = 0; r0 < R; r0 += step) {
      const n = Math.min(step, R - r0);
      keys.push(hashes.slice(r0, r0 + n));
      batches.push(new RecordBatch(new Schema(fields), makeData({
        type: new Struct(fields), length: n, nullCount: 0, children: [
          vectorFromArray(hashes.slice(r0, r0 + n), new Utf8()).data[0]!,
          makeData({ type: fields[1]!.type as FixedSizeList<Float32>, length: n, nullCount: 0, child: makeData({ type: new Float32(), length: n * L * C, data: result.condition.data.subarray(r0 * L * C, (r0 + n) * L * C) }) }),
          makeData({ type: fields[2]!.type as FixedSizeList<Uint8>, length: n, nullCount: 0, child: makeData({ type: new Uint8(), length: n * L, data: result.mask.subarray(r0 * L, (r0 + n) * L) }) }),
          makeData({ type: new Uint8(), length: n, nullCount: 0, data: truncated.subarray(r0, r0 + n) }),
        ],
      })));
    }
    const schema = new Schema(fields, new Map([
      ['schema_version', CONDITION_CACHE_SCHEMA_VERSION], ['encoder_digest', digest], ['max_length', String(L)], ['dim', String(C)],
      ['keys', JSON.stringify(keys)],
    ]));
    const file = path.join(dir, `seg-${Date.now().toString().padStart(15, '0')}-${process.pid}-${crypto.randomBytes(4).toString('hex')}.arrow`);
    const bytes = tableToIPC(new Table(schema, batches), 'file');
    writeFileAtomic(file, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return file;
  }
}

/** An encode result with cache statistics. */
export interface CachedEncodeResult extends EncodeResult {
  /** Prompts read from the cache / encoded now (duplicates within the call count once). */
  hits: number;
  misses: number;
}

/**
 * `encoder.encode` through the cache: only prompts not yet cached for (encoder digest, L) are encoded, then
 * written as a new segment; the result equals a plain `encode` of the whole list.
 * @example const r = await encodeWithCache(enc, prompts, { maxLength: 384 }, new ConditionCache('/cache/conditions'));
 */
export async function encodeWithCache(encoder: TextEncoder, prompts: string[], opts: EncodeOptions, cache: ConditionCache): Promise<CachedEncodeResult> {
  if (!Array.isArray(prompts) || prompts.length === 0) throw new Error('encodeWithCache: the prompt list is empty');
  const L = opts?.maxLength;
  checkNumber('encodeWithCache', 'maxLength', L, { min: 1, integer: true });
  const C = encoder.dim;
  const hashes = prompts.map((p, i) => {
    if (typeof p !== 'string') throw new Error(`encodeWithCache: prompt ${i} is not a string (${typeof p})`);
    return promptHash(p);
  });
  const found = await cache.get(encoder.digest, L, hashes);
  const missIdx: number[] = [];
  const seen = new Set<string>();
  hashes.forEach((h, i) => { if (!found.has(h) && !seen.has(h)) { seen.add(h); missIdx.push(i); } });
  if (missIdx.length) {
    const fresh = await encoder.encode(missIdx.map((i) => prompts[i]!), opts);
    const missHashes = missIdx.map((i) => hashes[i]!);
    await cache.put(encoder.digest, missHashes, fresh);
    const truncated = new Set(fresh.truncatedIndices);
    missHashes.forEach((h, j) => found.set(h, {
      condition: fresh.condition.data.subarray(j * L * C, (j + 1) * L * C),
      mask: fresh.mask.subarray(j * L, (j + 1) * L),
      truncated: truncated.has(j),
    }));
  }
  const data = new Float32Array(prompts.length * L * C);
  const mask = new Uint8Array(prompts.length * L);
  const truncatedIndices: number[] = [];
  hashes.forEach((h, i) => {
    const row = found.get(h)!;
    if (row.condition.length !== L * C) throw new Error(`encodeWithCache: cached row for prompt ${i} has ${row.condition.length} values, expected L*C = ${L * C}`);
    data.set(row.condition, i * L * C);
    mask.set(row.mask, i * L);
    if (row.truncated) truncatedIndices.push(i);
  });
  return {
    condition: { data, shape: [prompts.length, L, C] }, mask, truncated: truncatedIndices.length, truncatedIndices,
    hits: new Set(hashes).size - missIdx.length, misses: missIdx.length,
  };
}
