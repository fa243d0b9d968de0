// `dnd model check <dir>`'s work: load an HF model directory and report its parameter count, a greedy answer
// to a fixed prompt, and the mean NLL of a fixed text (comparable with transformers; see docs/lm.md).
// Not the CLI (apps/orchestrator owns it) and not a benchmark.
import { applyChatTemplate } from '@dnd/core';
import { loadCausalLM } from './causal-lm';

/** The fixed question (chat-templated when the tokenizer has a chat template). */
export const MODEL_CHECK_PROMPT = 'What is the capital of France?';

/** The fixed text whose mean per-token NLL is reported (tokens 2..n given their prefix; no special tokens). */
export const MODEL_CHECK_TEXT =
  'The water cycle describes how water moves between the oceans, the air and the land. Heat from the sun ' +
  'evaporates water from the surface of the sea. The vapour rises, cools and condenses into clouds, and the ' +
  'water falls back to the ground as rain or snow. Rivers carry much of it back to the sea, where the cycle begins again.';

/** What modelCheck reports. */
export interface ModelCheckResult {
  dir: string;
  architecture: string;
  parameters: number;
  prompt: string;
  answer: string;
  meanNll: number;
  nllTokens: number;
  seconds: number;
}

/**
 * Loads `dir`, answers MODEL_CHECK_PROMPT greedily and scores MODEL_CHECK_TEXT; disposes the model.
 * @example const r = await modelCheck(`${process.env.HOME}/.cache/dnd/models/smollm2-135m-instruct`); // r.answer: 'The capital of France is Paris.'
 */
export async function modelCheck(dir: string, opts: { maxNewTokens?: number } = {}): Promise<ModelCheckResult> {
  const t0 = Date.now();
  const lm = await loadCausalLM(dir);
  try {
    const tpl = lm.tokenizer.chatTemplate;
    const prompt = tpl
      ? applyChatTemplate(tpl, [{ role: 'user', content: MODEL_CHECK_PROMPT }], true, lm.tokenizer.specialTokens)
      : MODEL_CHECK_PROMPT;
    const [answer] = await lm.generate([prompt], { maxNewTokens: opts.maxNewTokens ?? 24, greedy: true });
    const ids = lm.tokenizer.encode(MODEL_CHECK_TEXT);
    const [lp] = await lm.tokenLogprobs([ids]);
    const meanNll = -lp!.reduce((a, b) => a + b, 0) / lp!.length;
    return {
      dir, architecture: lm.config.architecture, parameters: lm.numParameters(), prompt, answer: answer!,
      meanNll, nllTokens: lp!.length, seconds: (Date.now() - t0) / 1000,
    };
  } finally {
    lm.dispose();
  }
}
