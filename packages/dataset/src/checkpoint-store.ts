// checkpoints.arrow: one row (= one record batch) per zoo snapshot with its set, step, path, sha256 and its
// LoRA as token grids (method §4) in a FixedSizeList<Float32> column of Nw·(r+2)·(w+2) values; the grid
// shape, token layout, LoRA config and a row index live in schema metadata. Not the sampler (pair-sampler.ts).
//
// Dimensions: Nw = tokens per checkpoint, H = r+2, W = w+2 (r = LoRA rank, w = chunk width).
import { Field, FixedSizeList, Float32, Int32, RecordBatch, Schema, Struct, Utf8, makeData, vectorFromArray } from 'apache-arrow';
import { assertShape, sizeOf, type LoraAdapterConfig, type LoraTokenLayout, type TensorData } from '@dnd/core';
import { ArrowFileWriter, checkStoreKind, metaJson, openArrowFile } from './arrow-file';

/** Bumped whenever columns or metadata change meaning. */
export const CHECKPOINT_STORE_SCHEMA_VERSION = 1;
const KIND = 'checkpoints';

/** One snapshot's identity (the row index in schema metadata lists these in row order). */
export interface CheckpointRow {
  set: string;
  /** Step of the continued run (1-based). */
  step: number;
  /** Where the PEFT snapshot lives (relative to the zoo root). */
  path: string;
  /** sha256 of the snapshot's adapter_model.safetensors, as in its manifest. */
  sha256: string;
}

/** What the schema metadata records. */
export interface CheckpointStoreMeta {
  layout: LoraTokenLayout;
  loraConfig: LoraAdapterConfig;
  rows: CheckpointRow[];
  /** Free provenance, e.g. per-set manifest digests and the base-model digest. */
  sources: Record<string, unknown>;
}

function schemaFor(meta: CheckpointStoreMeta): Schema {
  const [nw, h, w] = meta.layout.tokenShape;
  const metadata = new Map<string, string>([
    ['dnd.kind', KIND],
    ['dnd.schema_version', String(CHECKPOINT_STORE_SCHEMA_VERSION)],
    ['dnd.token_shape', JSON.stringify([nw, h, w])],
    ['dnd.layout', JSON.stringify(meta.layout)],
    ['dnd.lora_config', JSON.stringify(meta.loraConfig)],
    ['dnd.rows', JSON.stringify(meta.rows)],
    ['dnd.sources', JSON.stringify(meta.sources)],
  ]);
  return new Schema([
    new Field('set', new Utf8(), false),
    new Field('step', new Int32(), false),
    new Field('path', new Utf8(), false),
    new Field('sha256', new Utf8(), false),
    new Field('tokens', new FixedSizeList(nw * h * w, new Field('item', new Float32(), false)), false),
  ], metadata);
}

/**
 * Writes checkpoints.arrow row by row (each `append` goes straight to disk) under a temporary name;
 * `commit()` renames it into place once every declared row is there.
 * @example
 * const w = new CheckpointStoreWriter('pairs/checkpoints.arrow', { layout, loraConfig, rows, sources: {} });
 * for (const r of rows) w.append(r, tokenizeLora(readPeftAdapter(r.path), layout)); // [Nw, r+2, w+2]
 * w.commit();
 */
export class CheckpointStoreWriter {
  private readonly out: ArrowFileWriter;
  private readonly schema: Schema;
  private next = 0;
  constructor(readonly file: string, readonly meta: CheckpointStoreMeta) {
    if (meta.rows.length === 0) throw new Error(`CheckpointStoreWriter(${file}): no checkpoints to write`);
    this.schema = schemaFor(meta);
    this.out = new ArrowFileWriter(file);
  }

  /** Appends the next declared row; `tokens` must have the layout's shape [Nw, r+2, w+2]. */
  append(row: CheckpointRow, tokens: TensorData): void {
    const want = this.meta.rows[this.next];
    if (!want) throw new Error(`CheckpointStoreWriter(${this.file}): more rows than the ${this.meta.rows.length} declared`);
    if (want.set !== row.set || want.step !== row.step || want.sha256 !== row.sha256) {
      throw new Error(`CheckpointStoreWriter(${this.file}): row ${this.next} should be ${want.set} step ${want.step}, got ${row.set} step ${row.step}`);
    }
    assertShape(tokens, this.meta.layout.tokenShape, `checkpoints.arrow row ${row.set} step ${row.step} (${row.path})`);
    const size = sizeOf(this.meta.layout.tokenShape);
    const fields = this.schema.fields;
    const children = [
      vectorFromArray([row.set], new Utf8()).data[0]!,
      makeData({ type: new Int32(), length: 1, data: Int32Array.of(row.step) }),
      vectorFromArray([row.path], new Utf8()).data[0]!,
      vectorFromArray([row.sha256], new Utf8()).data[0]!,
      makeData({ type: fields[4]!.type as FixedSizeList<Float32>, length: 1, nullCount: 0, child: makeData({ type: new Float32(), length: size, data: tokens.data }) }),
    ];
    this.out.writer.write(new RecordBatch(this.schema, makeData({ type: new Struct(fields), length: 1, nullCount: 0, children: children as any })));
    this.next++;
  }

  /** Finishes the file and renames it into place; throws (and discards it) if rows are missing. */
  commit(): { bytes: number } {
    if (this.next !== this.meta.rows.length) {
      this.out.abort();
      throw new Error(`CheckpointStoreWriter(${this.file}): ${this.next} of ${this.meta.rows.length} declared rows written; nothing committed`);
    }
    this.out.commit();
    return { bytes: this.out.bytes };
  }

  /** Discards the temporary file. */
  abort(): void { this.out.abort(); }
}

/** A checkpoint with its token grids. `tokens.data` is a view into the batch read from disk. */
export interface CheckpointRecord extends CheckpointRow {
  tokens: TensorData; // [Nw, r+2, w+2]
}

/**
 * Random access to checkpoints.arrow: the footer and schema are read on open, each `read(i)` loads one
 * record batch only, so memory stays flat however large the file is.
 * @example const s = await CheckpointStore.open('pairs/checkpoints.arrow'); const c = await s.read(0); c.tokens.shape; await s.close();
 */
export class CheckpointStore {
  private constructor(
    readonly file: string,
    readonly meta: CheckpointStoreMeta,
    private readonly reader: Awaited<ReturnType<typeof openArrowFile>>,
  ) {}

  static async open(file: string): Promise<CheckpointStore> {
    const r = await openArrowFile(file);
    try {
      const schema = r.reader.schema;
      checkStoreKind(schema, file, KIND, CHECKPOINT_STORE_SCHEMA_VERSION);
      const meta: CheckpointStoreMeta = {
        layout: metaJson(schema, 'dnd.layout', file),
        loraConfig: metaJson(schema, 'dnd.lora_config', file),
        rows: metaJson(schema, 'dnd.rows', file),
        sources: metaJson(schema, 'dnd.sources', file),
      };
      if (r.reader.numRecordBatches !== meta.rows.length) {
        throw new Error(`${file}: ${r.reader.numRecordBatches} record batches but the row index lists ${meta.rows.length}`);
      }
      return new CheckpointStore(file, meta, r);
    } catch (e) {
      await r.close();
      throw e;
    }
  }

  get rows(): readonly CheckpointRow[] { return this.meta.rows; }
  get tokenShape(): [number, number, number] { return this.meta.layout.tokenShape; }
  /** The sets present, in first-appearance order. */
  get sets(): string[] { return [...new Set(this.meta.rows.map((r) => r.set))]; }

  /** Reads row `i` (one record batch) and checks it against the row index. */
  async read(i: number): Promise<CheckpointRecord> {
    const want = this.meta.rows[i];
    if (!want) throw new Error(`${this.file}: row ${i} out of range (0..${this.meta.rows.length - 1})`);
    const b = await this.reader.reader.readRecordBatch(i);
    if (!b || b.numRows !== 1) throw new Error(`${this.file}: record batch ${i} is missing or has ${b?.numRows} rows (expected 1)`);
    const set = b.getChild('set')!.get(0) as string;
    const step = b.getChild('step')!.get(0) as number;
    if (set !== want.set || step !== want.step) throw new Error(`${this.file}: batch ${i} holds ${set} step ${step} but the index says ${want.set} step ${want.step}`);
    const values = b.getChild('tokens')!.data[0]!.children[0]!.values as Float32Array;
    const shape = [...this.tokenShape];
    if (values.length !== sizeOf(shape)) throw new Error(`${this.file}: batch ${i} tokens hold ${values.length} values, the zoo's grid [${shape}] needs ${sizeOf(shape)}`);
    return { ...want, tokens: { data: values, shape } };
  }

  async close(): Promise<void> { await this.reader.close(); }
}
