// The message a failed run ends with: the root cause's own text, dug out of Temporal's nesting
// (WorkflowFailedError -> ChildWorkflowFailure -> ActivityFailure -> ApplicationFailure -> cause).
// Not a logger: the CLI prints what this returns as its last line.

/**
 * The innermost cause's message of `e`, keeping the step prefix its wrapper added when the wrapper's
 * message ends with it ("collectSet: task set ... is empty" rather than "task set ... is empty").
 * @example rootCauseMessage(workflowFailedError) // 'collectSet: task file /d/x/train.jsonl:3: malformed JSON line (...)'
 */
export function rootCauseMessage(e: unknown): string {
  const chain: string[] = [];
  const seen = new Set<unknown>();
  for (let cur: unknown = e; cur && typeof cur === 'object' && !seen.has(cur); cur = (cur as { cause?: unknown }).cause) {
    seen.add(cur);
    const m = (cur as { message?: unknown }).message;
    if (typeof m === 'string' && m) chain.push(m);
  }
  if (chain.length === 0) return String(e);
  const root = chain[chain.length - 1]!;
  const parent = chain[chain.length - 2];
  return parent && parent !== root && parent.endsWith(root) ? parent : root;
}
