// The model card (README.md) of a generator directory: what the generator is, what it was trained on,
// how it scored, and the command that uses it, rendered from generator.json alone. Not the format itself
// (generator-dir.ts): the card is for people and is not read back.
import type { GeneratorManifest } from './generator-dir';

const pct = (v: number | null): string => (v === null ? '-' : `${(100 * v).toFixed(1)}`);

/**
 * README.md for a generator directory.
 * @example fs.writeFileSync('my-generator/README.md', renderGeneratorCard(manifest));
 */
export function renderGeneratorCard(m: GeneratorManifest): string {
  const a = m.lora.adapterConfig;
  const t = m.training;
  const lines = [
    `# DnD generator for ${m.baseModel.name}`,
    '',
    `A Drag-and-Drop LLMs prompt-to-weights generator: ${m.condition.promptsPerLora} unlabeled prompts of a task in, a`,
    `rank-${a.r} LoRA for \`${m.baseModel.name}\` out, with no training at use time.`,
    '',
    '| | |',
    '|---|---|',
    `| base model | \`${m.baseModel.name}\` (${m.baseModel.architecture ?? 'architecture not recorded'}, ${m.baseModel.numLayers} layers; sha256 \`${m.baseModel.digest.slice(0, 16)}\`) |`,
    `| encoder | \`${m.encoder.name}\` (${m.encoder.kind}, ${m.condition.dim}-d; sha256 \`${m.encoder.digest.slice(0, 16)}\`) |`,
    `| LoRA | r ${a.r}, alpha ${a.loraAlpha}, on ${a.targetModules.join(', ')} |`,
    `| prompts per LoRA | ${m.condition.promptsPerLora}, ${m.condition.textLength} encoder positions each |`,
    `| decoder | chain ${m.decoder.features.map((f) => `[${f.join(', ')}]`).join(' -> ')}, kernel ${m.decoder.kernelSize}, ${m.weights.params.toLocaleString('en-US')} parameters |`,
    `| trained on | ${t.sets.join(', ')}${t.heldOut.length ? ` (held out: ${t.heldOut.join(', ')})` : ''} |`,
    `| training | ${t.steps} steps, ${t.loss.kind} with ${t.loss.tokenWeights} token weights${t.finalLoss === null ? '' : `, final loss ${t.finalLoss.toPrecision(4)}`}${t.train ? `, lr ${t.train.lr}, weight decay ${t.train.weightDecay}` : ''} |`,
    `| versions | ${Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')} |`,
    '',
    '## How it scored',
    '',
  ];
  if (m.evaluation?.length) {
    lines.push('| held-out set | n | metric | base | generated | training LoRAs (mean) |', '|---|---|---|---|---|---|');
    for (const s of m.evaluation) lines.push(`| ${s.set} | ${s.n} | ${s.metric} | ${pct(s.base)} | ${pct(s.generated)} | ${pct(s.trainingLoraMean)} |`);
  } else {
    lines.push('Not evaluated when exported: `dnd evaluate --adapter name=<generated dir> --set name=<set>` scores its LoRAs.');
  }
  lines.push('', '## Use', '', '```bash', `dnd generate --generator <this directory> --prompts prompts.txt --out my-lora   # ${m.condition.promptsPerLora} prompts, one per line`, '```', '',
    'The output is a PEFT adapter directory (`adapter_config.json` + `adapter_model.safetensors`) for the base model above.', '');
  return lines.join('\n');
}
