// Per-item predictions as an Arrow IPC file (one row per adapter x item), so every number in a report can
// be recounted. Written atomically. Not the summary: results.json holds the aggregates.
import { Bool, Field, Float64, Int32, List, Schema, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import { writeFileAtomic } from '@dnd/core';
import type { ItemResult } from './scorers';

/** Bump when the columns change. */
export const PREDICTIONS_SCHEMA_VERSION = '2'; // 2: a protocol column (paper | knowledge)

/** A prediction row: the scorer's item result plus which adapter and scorer produced it. */
export interface PredictionRow extends ItemResult {
  /** Adapter name ("base" for the bare model). */
  adapter: string;
  /** base | training | averaged | generated */
  role: string;
  /** The protocol the row was scored under: paper | knowledge. */
  protocol: string;
  scorer: string;
}

/**
 * Builds the Arrow table: set, item_id, adapter, role, protocol, scorer (Utf8), choice_scores (List<Float64>),
 * prediction, prediction_norm, gold (Int32; -1 = outside the format; null = none), correct, correct_norm
 * (Bool), output (Utf8, generated text). `metadata` goes into the schema (e.g. seed, config digest).
 */
export function predictionsTable(rows: readonly PredictionRow[], metadata: Record<string, string> = {}): Table {
  const col = <T>(f: (r: PredictionRow) => T) => rows.map(f);
  const t = new Table({
    set: vectorFromArray(col((r) => r.set), new Utf8()),
    item_id: vectorFromArray(col((r) => r.itemId), new Utf8()),
    adapter: vectorFromArray(col((r) => r.adapter), new Utf8()),
    role: vectorFromArray(col((r) => r.role), new Utf8()),
    protocol: vectorFromArray(col((r) => r.protocol), new Utf8()),
    scorer: vectorFromArray(col((r) => r.scorer), new Utf8()),
    choice_scores: vectorFromArray(col((r) => r.choiceScores), new List(new Field('item', new Float64(), false))),
    prediction: vectorFromArray(col((r) => r.prediction), new Int32()),
    prediction_norm: vectorFromArray(col((r) => r.predictionNorm), new Int32()),
    gold: vectorFromArray(col((r) => r.gold), new Int32()),
    correct: vectorFromArray(col((r) => r.correct), new Bool()),
    correct_norm: vectorFromArray(col((r) => r.correctNorm), new Bool()),
    output: vectorFromArray(col((r) => r.output), new Utf8()),
  });
  const meta = new Map<string, string>([['dnd.schema', `predictions/${PREDICTIONS_SCHEMA_VERSION}`], ...Object.entries(metadata)]);
  return new Table(new Schema(t.schema.fields, meta), t.batches);
}

/**
 * Writes predictions as an Arrow IPC file (file format, random access) atomically; returns the bytes.
 * @example writePredictions('out/predictions.arrow', rows, { seed: '1234' })
 */
export function writePredictions(file: string, rows: readonly PredictionRow[], metadata: Record<string, string> = {}): Buffer {
  const buf = Buffer.from(tableToIPC(predictionsTable(rows, metadata), 'file'));
  writeFileAtomic(file, buf);
  return buf;
}

/** Reads a predictions file back into rows (for audits and tests). */
export function readPredictions(buf: Uint8Array): { rows: PredictionRow[]; metadata: Map<string, string> } {
  const t = tableFromIPC(buf);
  const rows: PredictionRow[] = [];
  for (const r of t) {
    const o = r.toJSON() as any;
    rows.push({
      set: o.set, itemId: o.item_id, adapter: o.adapter, role: o.role, protocol: o.protocol, scorer: o.scorer,
      choiceScores: o.choice_scores ? Array.from(o.choice_scores.toArray() as Float64Array) : [],
      prediction: o.prediction, predictionNorm: o.prediction_norm ?? null, gold: o.gold ?? null,
      correct: o.correct, correctNorm: o.correct_norm ?? null, output: o.output ?? null,
    });
  }
  return { rows, metadata: t.schema.metadata };
}
