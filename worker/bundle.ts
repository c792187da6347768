import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';

/** The workflows entry point, in source (ts-jest) or built (dist) form. */
export function workflowsPath(): string {
  return require.resolve('../workflows');
}

export const PREBUILT_BUNDLE = path.resolve(__dirname, '..', 'workflow-bundle.js');

/** Bundles the workflow code once (webpack + swc takes seconds); the worker reuses the result. */
export async function buildWorkflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: quietLogger });
}

export async function loadOrBuildBundle(file?: string): Promise<{ code: string } | { codePath: string }> {
  const candidate = file ?? PREBUILT_BUNDLE;
  if (fs.existsSync(candidate)) return { codePath: candidate };
  const { code } = await buildWorkflowBundle();
  return { code };
}

const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
