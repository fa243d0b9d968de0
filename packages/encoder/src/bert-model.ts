// The BERT encoder stack in TensorFlow.js: embeddings (word + position + token type) + LayerNorm, then
// post-LN layers of masked self-attention and a GELU (erf) FFN. Weights come from HF names. Not the
// tokenizer, the 512-chunking or the batching (bert-encoder.ts).
//
// Dimensions: B = sequences in a batch, T = sequence length (<= P), C = hidden, H = heads, D = C / H,
// F = FFN width, V = vocab, P = max positions.
import * as tf from '@tensorflow/tfjs';
import type { BertConfig } from './bert-config';

const FLOAT32_MIN = -3.4028234663852886e38;

interface LayerWeights {
  qkvW: tf.Tensor2D; // [C, 3C] (query | key | value, transposed from torch's [out, in])
  qkvB: tf.Tensor1D; // [3C]
  oW: tf.Tensor2D; // [C, C]
  oB: tf.Tensor1D; // [C]
  ln1G: tf.Tensor1D; // [C]
  ln1B: tf.Tensor1D; // [C]
  f1W: tf.Tensor2D; // [C, F]
  f1B: tf.Tensor1D; // [F]
  f2W: tf.Tensor2D; // [F, C]
  f2B: tf.Tensor1D; // [C]
  ln2G: tf.Tensor1D; // [C]
  ln2B: tf.Tensor1D; // [C]
}

/** Gets one HF tensor by name (without the `bert.` prefix) with its expected shape. */
export type WeightSource = (name: string, shape: number[]) => Float32Array;

/** The HF tensor names and shapes of a BERT encoder (no pooler), in the order they are read. */
export function bertWeightShapes(c: BertConfig): Array<[string, number[]]> {
  const C = c.hiddenSize;
  const out: Array<[string, number[]]> = [
    ['embeddings.word_embeddings.weight', [c.vocabSize, C]],
    ['embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, C]],
    ['embeddings.token_type_embeddings.weight', [c.typeVocabSize, C]],
    ['embeddings.LayerNorm.weight', [C]],
    ['embeddings.LayerNorm.bias', [C]],
  ];
  for (let i = 0; i < c.numHiddenLayers; i++) {
    const p = `encoder.layer.${i}.`;
    for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) {
      out.push([`${p}${m}.weight`, [C, C]], [`${p}${m}.bias`, [C]]);
    }
    out.push([`${p}attention.output.LayerNorm.weight`, [C]], [`${p}attention.output.LayerNorm.bias`, [C]]);
    out.push([`${p}intermediate.dense.weight`, [c.intermediateSize, C]], [`${p}intermediate.dense.bias`, [c.intermediateSize]]);
    out.push([`${p}output.dense.weight`, [C, c.intermediateSize]], [`${p}output.dense.bias`, [C]]);
    out.push([`${p}output.LayerNorm.weight`, [C]], [`${p}output.LayerNorm.bias`, [C]]);
  }
  return out;
}

/** torch Linear weight [out, in] -> tfjs matrix [in, out]. */
function linearT(data: Float32Array, out: number, inn: number): tf.Tensor2D {
  return tf.tidy(() => tf.transpose(tf.tensor2d(data, [out, inn])) as tf.Tensor2D);
}

/** A frozen BERT encoder on tfjs tensors. Call `dispose()` when done. */
export class BertModel {
  private readonly wordEmb: tf.Tensor2D; // [V, C]
  private readonly posEmb: tf.Tensor2D; // [P, C]
  private readonly typeEmb0: tf.Tensor1D; // [C] (token type 0: single-sequence inputs)
  private readonly embLnG: tf.Tensor1D; // [C]
  private readonly embLnB: tf.Tensor1D; // [C]
  private readonly layers: LayerWeights[] = [];

  constructor(readonly config: BertConfig, get: WeightSource) {
    const c = config;
    const C = c.hiddenSize;
    const F = c.intermediateSize;
    const v = (n: string, shape: number[]) => tf.tensor(get(n, shape), shape);
    this.wordEmb = v('embeddings.word_embeddings.weight', [c.vocabSize, C]) as tf.Tensor2D;
    this.posEmb = v('embeddings.position_embeddings.weight', [c.maxPositionEmbeddings, C]) as tf.Tensor2D;
    const types = get('embeddings.token_type_embeddings.weight', [c.typeVocabSize, C]);
    this.typeEmb0 = tf.tensor1d(types.subarray(0, C));
    this.embLnG = v('embeddings.LayerNorm.weight', [C]) as tf.Tensor1D;
    this.embLnB = v('embeddings.LayerNorm.bias', [C]) as tf.Tensor1D;
    for (let i = 0; i < c.numHiddenLayers; i++) {
      const p = `encoder.layer.${i}.`;
      const w = (m: string, o: number, n: number) => get(`${p}${m}.weight`, [o, n]);
      const b = (m: string, o: number) => get(`${p}${m}.bias`, [o]);
      const qkv = new Float32Array(3 * C * C);
      qkv.set(w('attention.self.query', C, C), 0);
      qkv.set(w('attention.self.key', C, C), C * C);
      qkv.set(w('attention.self.value', C, C), 2 * C * C);
      const qkvB = new Float32Array(3 * C);
      qkvB.set(b('attention.self.query', C), 0);
      qkvB.set(b('attention.self.key', C), C);
      qkvB.set(b('attention.self.value', C), 2 * C);
      this.layers.push({
        qkvW: linearT(qkv, 3 * C, C), qkvB: tf.tensor1d(qkvB),
        oW: linearT(w('attention.output.dense', C, C), C, C), oB: tf.tensor1d(b('attention.output.dense', C)),
        ln1G: tf.tensor1d(get(`${p}attention.output.LayerNorm.weight`, [C])),
        ln1B: tf.tensor1d(get(`${p}attention.output.LayerNorm.bias`, [C])),
        f1W: linearT(w('intermediate.dense', F, C), F, C), f1B: tf.tensor1d(b('intermediate.dense', F)),
        f2W: linearT(w('output.dense', C, F), C, F), f2B: tf.tensor1d(b('output.dense', C)),
        ln2G: tf.tensor1d(get(`${p}output.LayerNorm.weight`, [C])),
        ln2B: tf.tensor1d(get(`${p}output.LayerNorm.bias`, [C])),
      });
    }
  }

  private layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D): tf.Tensor2D { // [B*T, C]
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, this.config.layerNormEps))), g), b);
  }

  /**
   * last_hidden_state of a batch. Call inside `tf.tidy`; returns a tensor the caller owns.
   * @param ids token ids, row-major // [B, T]
   * @param mask 1 = attend, 0 = padding // [B, T]
   * @returns hidden states // [B, T, C]
   */
  forward(ids: Int32Array, mask: Uint8Array, B: number, T: number): tf.Tensor3D {
    const c = this.config;
    const C = c.hiddenSize;
    const H = c.numAttentionHeads;
    const D = C / H;
    if (ids.length !== B * T || mask.length !== B * T) throw new Error(`BertModel.forward: ids/mask hold ${ids.length}/${mask.length} values, expected B*T = ${B * T}`);
    if (T > c.maxPositionEmbeddings) throw new Error(`BertModel.forward: length ${T} exceeds max_position_embeddings ${c.maxPositionEmbeddings}`);
    return tf.tidy(() => {
      const emb = tf.gather(this.wordEmb, tf.tensor1d(ids, 'int32')).reshape([B, T, C]); // [B, T, C]
      const pos = this.posEmb.slice([0, 0], [T, C]); // [T, C]
      let x = this.layerNorm(tf.add(tf.add(emb, pos), this.typeEmb0).reshape([B * T, C]) as tf.Tensor2D, this.embLnG, this.embLnB); // [B*T, C]
      // Additive mask as HF BertModel (eager): 0 where attended, float32 min where padded, so that an
      // all-padding row (a chunk of pure padding) attends uniformly, exactly as transformers does.
      const addMask = tf.mul(tf.sub(1, tf.tensor(mask, [B, 1, 1, T], 'float32')), FLOAT32_MIN); // [B, 1, 1, T]
      const scale = 1 / Math.sqrt(D);
      for (const l of this.layers) {
        const qkv = tf.add(tf.matMul(x, l.qkvW), l.qkvB); // [B*T, 3C]
        const heads = qkv.reshape([B, T, 3, H, D]).transpose([2, 0, 3, 1, 4]); // [3, B, H, T, D]
        const [q, k, v] = tf.unstack(heads, 0) as tf.Tensor4D[]; // each [B, H, T, D]
        const scores = tf.add(tf.mul(tf.matMul(q!, k!, false, true), scale), addMask); // [B, H, T, T]
        const ctx = tf.matMul(tf.softmax(scores, -1), v!).transpose([0, 2, 1, 3]).reshape([B * T, C]) as tf.Tensor2D; // [B*T, C]
        const attn = tf.add(tf.matMul(ctx, l.oW), l.oB); // [B*T, C]
        x = this.layerNorm(tf.add(attn, x), l.ln1G, l.ln1B);
        const h = tf.add(tf.matMul(x, l.f1W), l.f1B); // [B*T, F]
        const gelu = tf.mul(tf.mul(h, 0.5), tf.add(1, tf.erf(tf.mul(h, Math.SQRT1_2)))); // erf GELU, as BERT
        const ffn = tf.add(tf.matMul(gelu, l.f2W), l.f2B); // [B*T, C]
        x = this.layerNorm(tf.add(ffn, x), l.ln2G, l.ln2B);
      }
      return x.reshape([B, T, C]) as tf.Tensor3D;
    });
  }

  /** Frees every weight tensor. */
  dispose(): void {
    tf.dispose([this.wordEmb, this.posEmb, this.typeEmb0, this.embLnG, this.embLnB]);
    for (const l of this.layers) tf.dispose(Object.values(l));
    this.layers.length = 0;
  }
}
