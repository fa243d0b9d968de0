// safetensors reader and writer: u64-LE header length, JSON header {name: {dtype, shape, data_offsets},
// __metadata__}, raw little-endian data. Lazy per-tensor reads; writes are atomic (temp + rename).
// Not a tensor library: floats come back as Float32Array, integers as BigInt64Array / Int32Array.
import * as fs from 'fs';
import { BadInputError } from './bad-input';
import { writeFileAtomic } from './atomic-write';
import { sizeOf } from './tensor-data';

/** Re-exported from atomic-write.ts, where it lives (kept here for existing importers). */
export { writeFileAtomic };

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'I64' | 'I32';
const BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** Largest JSON header accepted (the reference implementation's guard is 100 MB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface SafetensorsEntry {
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte range inside the data section, [begin, end). */
  offsets: [number, number];
}

export interface SafetensorsHeader {
  entries: Map<string, SafetensorsEntry>;
  metadata: Record<string, string>;
  /** File offset where the data section starts (8 + header length). */
  dataStart: number;
}

export type SafetensorsValue = Float32Array | BigInt64Array | Int32Array;

/** A tensor to write. Float data is converted to `dtype` (F32, F16 or BF16) on write. */
export interface TensorToWrite {
  dtype: SafetensorsDtype;
  shape: number[];
  data: SafetensorsValue;
}

// By tag, not instanceof: typed arrays made in another realm (tfjs-node's dataSync() under jest's vm) are
// real Float32Arrays that fail `instanceof Float32Array` here.
function isFloat32Array(x: unknown): x is Float32Array {
  return Object.prototype.toString.call(x) === '[object Float32Array]';
}

// A malformed file can never be read by retrying: BadInputError.
function fail(file: string, msg: string): never {
  throw new BadInputError(`safetensors ${file}: ${msg}`);
}

/** Deepest nesting a valid header has: {name: {shape: [..]}} is 3. */
const MAX_HEADER_DEPTH = 3;

// One linear pass over the raw header before JSON.parse: it must be a JSON object and nest no deeper
// than a header can, so a hostile header ('[[[[...' or 99 MB of nesting) is refused without building it.
function checkHeaderShape(json: Buffer, file: string): void {
  let i = 0;
  while (i < json.length && (json[i] === 0x20 || json[i] === 0x0a || json[i] === 0x0d || json[i] === 0x09)) i++;
  if (json[i] !== 0x7b) fail(file, `header does not start with a JSON object ('{')`);
  let depth = 0; let inString = false;
  for (; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_HEADER_DEPTH) fail(file, `header nests deeper than ${MAX_HEADER_DEPTH} levels at byte ${i}: not a safetensors header`);
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
}

const isOffset = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Parses and validates a header buffer (the JSON after the 8-byte length). */
export function parseSafetensorsHeader(json: Buffer, file: string, dataBytes: number): SafetensorsHeader {
  checkHeaderShape(json, file);
  let raw: Record<string, any>;
  try {
    raw = JSON.parse(json.toString('utf8').trimEnd());
  } catch (e) {
    return fail(file, `header is not valid JSON (${(e as Error).message})`);
  }
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const spans: Array<[number, number, string]> = [];
  for (const [name, v] of Object.entries(raw)) {
    if (name === '__metadata__') {
      if (v !== null && (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string'))) fail(file, '__metadata__ must map names to strings');
      metadata = v ?? {};
      continue;
    }
    const { dtype, shape, data_offsets: off } = v ?? {};
    if (!(dtype in BYTES)) fail(file, `tensor "${name}" has unsupported dtype ${JSON.stringify(dtype)} (supported: ${Object.keys(BYTES).join(', ')})`);
    if (!Array.isArray(shape) || !shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= 0)) fail(file, `tensor "${name}" has a bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(off) || off.length !== 2 || !isOffset(off[0]) || !isOffset(off[1]) || !(off[0] <= off[1])) fail(file, `tensor "${name}" has bad data_offsets ${JSON.stringify(off)}`);
    const need = sizeOf(shape) * BYTES[dtype as SafetensorsDtype];
    if (off[1] - off[0] !== need) fail(file, `tensor "${name}" spans ${off[1] - off[0]} bytes but ${dtype}[${shape}] needs ${need}`);
    if (off[1] > dataBytes) fail(file, `tensor "${name}" ends at byte ${off[1]} past the data section (${dataBytes} bytes): the file is truncated`);
    entries.set(name, { dtype, shape, offsets: [off[0], off[1]] });
    spans.push([off[0], off[1], name]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) fail(file, `tensors "${spans[i - 1]![2]}" and "${spans[i]![2]}" overlap`);
  }
  return { entries, metadata, dataStart: 8 + json.length };
}

/** Reads only the header of a file. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) fail(file, `file is ${size} bytes, too short for a header`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const len = Number(lenBuf.readBigUInt64LE(0));
    if (len > MAX_HEADER_BYTES) fail(file, `header of ${len} bytes is over the ${MAX_HEADER_BYTES}-byte guard`);
    if (8 + len > size) fail(file, `header claims ${len} bytes but the file has ${size - 8}: truncated`);
    const json = Buffer.alloc(len);
    fs.readSync(fd, json, 0, len, 8);
    return parseSafetensorsHeader(json, file, size - 8 - len);
  } finally {
    fs.closeSync(fd);
  }
}

/** Decodes raw little-endian bytes of `dtype` into fp32 (floats) or an integer array. */
export function decodeTensorBytes(buf: Buffer, dtype: SafetensorsDtype): SafetensorsValue {
  const n = buf.length / BYTES[dtype];
  const aligned = Buffer.from(buf); // copy: guarantees alignment for typed-array views
  switch (dtype) {
    case 'F32': return new Float32Array(aligned.buffer, aligned.byteOffset, n);
    case 'I64': return new BigInt64Array(aligned.buffer, aligned.byteOffset, n);
    case 'I32': return new Int32Array(aligned.buffer, aligned.byteOffset, n);
    case 'BF16': {
      const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const out = new Float32Array(n); const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = src[i]! << 16;
      return out;
    }
    case 'F16': {
      const src = new Uint16Array(aligned.buffer, aligned.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(src[i]!);
      return out;
    }
  }
}

/** Random-access reader over one file: the header is read once, each tensor on demand. */
export class SafetensorsFile {
  readonly header: SafetensorsHeader;
  private fd: number | null;

  private constructor(readonly file: string) {
    this.header = readSafetensorsHeader(file);
    this.fd = fs.openSync(file, 'r');
  }

  /** Opens `file` and validates its header. Call `close()` when done. */
  static open(file: string): SafetensorsFile {
    return new SafetensorsFile(file);
  }

  get names(): string[] { return [...this.header.entries.keys()]; }
  get metadata(): Record<string, string> { return this.header.metadata; }

  info(name: string): SafetensorsEntry {
    const e = this.header.entries.get(name);
    if (!e) fail(this.file, `no tensor named "${name}" (has ${this.names.length}: ${this.names.slice(0, 5).join(', ')}${this.names.length > 5 ? ', ...' : ''})`);
    return e;
  }

  /** Reads one tensor; floats become fp32. */
  read(name: string): { dtype: SafetensorsDtype; shape: number[]; data: SafetensorsValue } {
    const e = this.info(name);
    if (this.fd === null) fail(this.file, 'read after close');
    const buf = Buffer.alloc(e.offsets[1] - e.offsets[0]);
    const got = fs.readSync(this.fd, buf, 0, buf.length, this.header.dataStart + e.offsets[0]);
    if (got !== buf.length) fail(this.file, `tensor "${name}": short read (${got} of ${buf.length} bytes)`);
    return { dtype: e.dtype, shape: [...e.shape], data: decodeTensorBytes(buf, e.dtype) };
  }

  /** Reads a float tensor as fp32, throwing if it is an integer tensor. */
  readFloat(name: string): { shape: number[]; data: Float32Array } {
    const t = this.read(name);
    if (!isFloat32Array(t.data)) fail(this.file, `tensor "${name}" is ${t.dtype}, expected a float dtype`);
    return { shape: t.shape, data: t.data };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

/** Reads every tensor of a file at once. */
export function readSafetensors(file: string): { tensors: Map<string, { dtype: SafetensorsDtype; shape: number[]; data: SafetensorsValue }>; metadata: Record<string, string> } {
  const f = SafetensorsFile.open(file);
  try {
    const tensors = new Map<string, { dtype: SafetensorsDtype; shape: number[]; data: SafetensorsValue }>();
    for (const n of f.names) tensors.set(n, f.read(n));
    return { tensors, metadata: { ...f.metadata } };
  } finally {
    f.close();
  }
}

function encodeTensor(name: string, t: TensorToWrite): Buffer {
  if (!(t.dtype in BYTES)) throw new Error(`safetensors write: tensor "${name}" has unsupported dtype ${t.dtype}`);
  const n = sizeOf(t.shape);
  if (t.data.length !== n) throw new Error(`safetensors write: tensor "${name}" has ${t.data.length} values but shape [${t.shape}] needs ${n}`);
  const isInt = t.dtype === 'I64' || t.dtype === 'I32';
  if (isInt !== !isFloat32Array(t.data)) throw new Error(`safetensors write: tensor "${name}" data type does not fit dtype ${t.dtype}`);
  switch (t.dtype) {
    case 'F32': case 'I64': case 'I32': {
      const d = t.dtype === 'I32' && !(t.data instanceof Int32Array) ? Int32Array.from(t.data as any, Number) : t.data;
      return Buffer.from(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
    }
    case 'BF16': case 'F16': {
      const src = t.data as Float32Array; const out = new Uint16Array(n);
      const u = new Uint32Array(src.buffer, src.byteOffset, n);
      for (let i = 0; i < n; i++) out[i] = t.dtype === 'BF16' ? floatToBf16Bits(u[i]!) : floatToHalf(src[i]!);
      return Buffer.from(out.buffer);
    }
  }
}

/** Serializes tensors (in the given order) and metadata to one buffer. */
export function serializeSafetensors(tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>, metadata?: Record<string, string>): Buffer {
  const list = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header['__metadata__'] = metadata;
  const blobs: Buffer[] = [];
  let off = 0;
  for (const [name, t] of list) {
    const b = encodeTensor(name, t);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    blobs.push(b); off += b.length;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8; // data starts 8-byte aligned, as the reference writer does
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...blobs]);
}

/** Writes a file atomically: a temporary name in the same folder, fsync, then rename. */
export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite> | Map<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const buf = serializeSafetensors(tensors, metadata);
  writeFileAtomic(file, buf);
}

// Round-to-nearest-even fp32 -> bf16 bits, NaN kept quiet.
function floatToBf16Bits(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1; const e = (h >> 10) & 0x1f; const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1); const u32 = new Uint32Array(f32.buffer);
function floatToHalf(v: number): number {
  f32[0] = v; const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000; const exp = (x >>> 23) & 0xff; let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000; const shift = 14 - e;
    let hm = mant >> shift; const rem = mant & ((1 << shift) - 1); const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (hm & 1))) hm++;
    return sign | hm;
  }
  let hm = mant >> 13; const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (hm & 1))) { hm++; if (hm === 0x400) { hm = 0; e++; if (e >= 31) return sign | 0x7c00; } }
  return sign | (e << 10) | hm;
}
