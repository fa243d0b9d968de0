// A deterministic, hand-written EvalModel for unit tests: it knows each item's gold choice and gets an
// item right exactly when (item index mod 10) < 10 * skill, where skill is the attached adapter's first
// value (the base has `baseSkill`). Not a language model.
import type { LoraAdapter } from '@dnd/core';
import type { EvalItem } from '../src/eval-item';
import { AdapterMismatchError, baseModelKey, type ContinuationRequest, type ContinuationScore, type EvalModel, type GenerateOptions } from '../src/scoring-model';

export const FAKE_TENSOR = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
const FAKE_TENSOR_B = 'base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight';

/** A valid PEFT adapter with skill `s` (lora_A's first value); lora_A [2, 4] by default, lora_B [4, 2]. */
export function fakeAdapter(s: number, base = 'fake/base-1', shape = [2, 4]): LoraAdapter {
  const data = new Float32Array(shape[0]! * shape[1]!).fill(0.5);
  data[0] = s;
  return {
    config: { r: 2, loraAlpha: 4, loraDropout: 0, targetModules: ['q_proj'], baseModelNameOrPath: base, useRslora: false },
    tensors: new Map([[FAKE_TENSOR, { data, shape }], [FAKE_TENSOR_B, { data: new Float32Array(8).fill(0.25), shape: [4, 2] }]]),
  };
}

export class FakeModel implements EvalModel {
  readonly baseModelNameOrPath = 'fake/base-1';
  skill: number;
  calls = 0;
  private readonly byContext = new Map<string, { gold: EvalItem; index: number }>();

  constructor(items: readonly EvalItem[], private readonly baseSkill = 0.3) {
    this.skill = baseSkill;
    for (const it of items) this.byContext.set(it.context, { gold: it, index: Number(it.id.split('/').pop()) });
    for (const it of items) this.byContext.set(it.prompt, { gold: it, index: Number(it.id.split('/').pop()) });
  }

  private knows(index: number): boolean {
    return index % 10 < Math.round(10 * this.skill);
  }

  async useAdapter(a: LoraAdapter | null): Promise<void> {
    if (!a) { this.skill = this.baseSkill; return; }
    if (baseModelKey(a.config.baseModelNameOrPath) !== baseModelKey(this.baseModelNameOrPath)) throw new AdapterMismatchError(`made for ${a.config.baseModelNameOrPath}`);
    const t = a.tensors.get(FAKE_TENSOR);
    if (!t || t.shape[0] !== 2 || t.shape[1] !== 4) throw new AdapterMismatchError(`tensor ${FAKE_TENSOR} has shape [${t?.shape}], base needs [2,4]`);
    this.skill = t.data[0]!;
  }

  async scoreContinuations(reqs: ContinuationRequest[]): Promise<ContinuationScore[]> {
    this.calls++;
    return reqs.map((r) => {
      const e = this.byContext.get(r.context);
      if (!e) throw new Error(`fake model: unknown context ${r.context}`);
      const choice = e.gold.choices.indexOf(r.continuation.slice(1));
      const isGold = choice === e.gold.gold;
      // The gold wins when known; otherwise the first non-gold choice wins.
      const firstWrong = e.gold.gold === 0 ? 1 : 0;
      const win = this.knows(e.index) ? isGold : choice === firstWrong;
      return { logprob: win ? -2 : -2.5 - 0.1 * choice, numTokens: 1, isGreedy: win };
    });
  }

  async generate(prompts: string[], _o: GenerateOptions): Promise<string[]> {
    return prompts.map((p) => {
      const e = this.byContext.get(p);
      if (!e) throw new Error('fake model: unknown prompt');
      if (e.gold.answerFormat === 'numeric') return this.knows(e.index) ? `so ... #### ${e.gold.target}` : '#### 0';
      const tok = e.gold.answerFormat === 'trueFalse' ? ['true', 'false'] : e.gold.choices.map((_, i) => `${e.gold.answerFormat.slice(0, -1)}${i + 1}`);
      // Unknown items: every third gets an off-format answer, the rest a wrong in-format one.
      if (this.knows(e.index)) return `the correct answer is ${tok[e.gold.gold!]}`;
      return e.index % 3 === 0 ? 'I am not sure' : `the correct answer is ${tok[e.gold.gold === 0 ? 1 : 0]}`;
    });
  }
}

/** n labelled 4-choice items of set `set` (gold cycles 0..3). */
export function makeItems(set: string, n: number, choices = ['a', 'bb', 'ccc', 'dddd']): EvalItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `${set}/test/${i}`, set, context: `Question: ${set} q${i}\nAnswer:`, choices, gold: i % choices.length, answerFormat: 'answerN' as const,
    prompt: `${set} prompt ${i}`,
  }));
}

/**
 * The fake model with the multi-adapter calls: each adapter's answers are the single-adapter ones; `passes`
 * records the number of adapters of every multi call.
 */
export class FakeMultiModel extends FakeModel {
  passes: number[] = [];

  private async under<T>(adapters: (LoraAdapter | null)[], f: () => Promise<T>): Promise<T[]> {
    const saved = this.skill;
    const out: T[] = [];
    try {
      for (const a of adapters) { await this.useAdapter(a); out.push(await f()); }
    } finally { this.skill = saved; }
    this.passes.push(adapters.length);
    return out;
  }

  scoreContinuationsMulti(adapters: (LoraAdapter | null)[], reqs: ContinuationRequest[]): Promise<ContinuationScore[][]> {
    return this.under(adapters, () => this.scoreContinuations(reqs));
  }

  generateMulti(adapters: (LoraAdapter | null)[], prompts: string[], o: GenerateOptions): Promise<string[][]> {
    return this.under(adapters, () => this.generate(prompts, o));
  }
}
