// The last line of a failed run: the root cause's own message from Temporal's real failure classes,
// nested as a pipeline reports them (workflow -> child workflow -> activity -> application failure).
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, ChildWorkflowFailure, RetryState } from '@temporalio/common';
import { rootCauseMessage } from './failure-message';

it('digs the bad-input message out of Child Workflow execution failed', () => {
  const original = ApplicationFailure.create({ message: 'task set "empty": train.jsonl has no usable records', type: 'BadInputError', nonRetryable: true });
  const app = ApplicationFailure.create({ message: 'collectSet: task set "empty": train.jsonl has no usable records', type: 'BadInput', nonRetryable: true, cause: original });
  const act = new ActivityFailure('Activity task failed', 'collectSet', 'collectSet', RetryState.NON_RETRYABLE_FAILURE, '', app);
  const child = new ChildWorkflowFailure('default', { workflowId: 'r/zoo/empty', runId: 'x' }, 'collectZoo', RetryState.NON_RETRYABLE_FAILURE, act);
  const inner = new ChildWorkflowFailure('default', { workflowId: 'r/zoo', runId: 'y' }, 'collectZoo', RetryState.NON_RETRYABLE_FAILURE, child);
  const wf = new WorkflowFailedError('Workflow execution failed', inner, RetryState.NON_RETRYABLE_FAILURE);
  expect(wf.message).toBe('Workflow execution failed');
  expect(rootCauseMessage(wf)).toBe('collectSet: task set "empty": train.jsonl has no usable records');
});

it('returns the message of an error without causes, and survives a cause cycle', () => {
  expect(rootCauseMessage(new Error('plain'))).toBe('plain');
  const a = new Error('a'); const b = new Error('b', { cause: a }); (a as { cause?: unknown }).cause = b;
  expect(['a', 'b']).toContain(rootCauseMessage(b));
  expect(rootCauseMessage('text')).toBe('text');
});
