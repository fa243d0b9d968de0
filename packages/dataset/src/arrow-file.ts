// Small Arrow IPC helpers shared by the stores: a synchronous file sink for RecordBatchFileWriter (bytes go
// straight to disk, so memory stays flat while writing), temp-name-then-rename commits, and metadata
// decoding. Not a store: the schemas live in checkpoint-store.ts, prompt-store.ts, loss-weights.ts.
import * as fs from 'fs';
import * as path from 'path';
import { AsyncByteQueue, RecordBatchFileWriter, RecordBatchReader, type AsyncRecordBatchFileReader, type Schema } from 'apache-arrow';

/** An AsyncByteQueue that writes every chunk to a file descriptor at once instead of queueing it. */
class FileSink extends AsyncByteQueue {
  bytes = 0;
  constructor(private readonly fd: number) { super(); }
  override write(value: any): void {
    const u = value instanceof Uint8Array ? value : new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    if (u.byteLength === 0) return;
    let off = 0;
    while (off < u.byteLength) off += fs.writeSync(this.fd, u, off, u.byteLength - off);
    this.bytes += u.byteLength;
  }
}

/** A temporary sibling name for `file` (same folder, so the final rename is atomic). */
export function tempNameFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/** An Arrow IPC file being written under a temporary name; `commit()` renames it into place. */
export class ArrowFileWriter {
  private readonly fd: number;
  private readonly sink: FileSink;
  readonly writer: RecordBatchFileWriter;
  private done = false;
  constructor(readonly file: string, readonly tmp = tempNameFor(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(tmp, 'w');
    this.sink = new FileSink(this.fd);
    this.writer = new RecordBatchFileWriter();
    this.writer.reset(this.sink as any);
  }
  /** Bytes written so far. */
  get bytes(): number { return this.sink.bytes; }
  /** Writes the footer, fsyncs, and renames the temporary file to its real name. */
  commit(): void {
    if (this.done) throw new Error(`ArrowFileWriter(${this.file}): already finished`);
    this.done = true;
    this.writer.finish();
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    fs.renameSync(this.tmp, this.file);
  }
  /** Discards the temporary file; the real name is never touched. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
    fs.rmSync(this.tmp, { force: true });
  }
}

/** Opens an Arrow IPC file for random access to its record batches (reads only the footer up front). */
export async function openArrowFile(file: string): Promise<{ reader: AsyncRecordBatchFileReader; close: () => Promise<void> }> {
  if (!fs.existsSync(file)) throw new Error(`${file}: not found`);
  const fh = await fs.promises.open(file, 'r');
  try {
    const reader = (await RecordBatchReader.from(fh as any)) as unknown as AsyncRecordBatchFileReader;
    await reader.open();
    if (!reader.isFile()) throw new Error(`${file}: not an Arrow IPC file (stream format?)`);
    return { reader, close: async () => { await fh.close(); } };
  } catch (e) {
    await fh.close();
    throw new Error(`${file}: cannot read as Arrow IPC file (${(e as Error).message})`);
  }
}

/** A required metadata entry, JSON-decoded; errors name the file and key. */
export function metaJson<T>(schema: Schema, key: string, file: string): T {
  const v = schema.metadata.get(key);
  if (v === undefined) throw new Error(`${file}: schema metadata lacks "${key}" (not written by @dnd/dataset?)`);
  try {
    return JSON.parse(v) as T;
  } catch {
    throw new Error(`${file}: schema metadata "${key}" is not valid JSON`);
  }
}

/** Checks `dnd.kind` and `dnd.schema_version` of a store file. */
export function checkStoreKind(schema: Schema, file: string, kind: string, version: number): void {
  const k = schema.metadata.get('dnd.kind');
  if (k !== kind) throw new Error(`${file}: expected a dnd "${kind}" store, schema metadata says dnd.kind=${JSON.stringify(k)}`);
  const v = Number(schema.metadata.get('dnd.schema_version'));
  if (v !== version) throw new Error(`${file}: ${kind} schema version ${schema.metadata.get('dnd.schema_version')} is not supported (this code reads version ${version})`);
}
