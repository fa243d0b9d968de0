// History size of each workflow, from `temporal workflow describe` (historyLength, historySizeBytes): what a
// run occupies on its Temporal server. Shared by footprint.ts (a run against S3) and run-footprint.ts (a
// finished local run).
import { execFileSync } from 'child_process';

export interface WorkflowHistory { id: string; events: number; bytes: number }

export function describeHistories(temporal: string, address: string, ids: readonly string[]): WorkflowHistory[] {
  return ids.map((id) => {
    const d = JSON.parse(execFileSync(temporal, ['workflow', 'describe', '--address', address, '-w', id, '-o', 'json'], { encoding: 'utf8' })) as { workflowExecutionInfo?: { historyLength?: string; historySizeBytes?: string } };
    return { id, events: Number(d.workflowExecutionInfo?.historyLength ?? 0), bytes: Number(d.workflowExecutionInfo?.historySizeBytes ?? 0) };
  });
}

export function historyTotals(h: readonly WorkflowHistory[]): { workflows: number; events: number; bytes: number; perWorkflow: readonly WorkflowHistory[] } {
  return { workflows: h.length, events: h.reduce((a, x) => a + x.events, 0), bytes: h.reduce((a, x) => a + x.bytes, 0), perWorkflow: h };
}
