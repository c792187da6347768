import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { InputError } from '../common/errors';
import { RunbookSpec, type StepSpec } from './schema';
import { placeholders } from './template';

export interface RunbookProblem {
  line?: number;
  path: string;
  message: string;
}

export interface LoadedRunbook {
  file: string;
  runbook: RunbookSpec;
}

export interface ValidateOptions {
  /** Whether an action name exists in the activity registry. */
  actionExists?: (name: string) => boolean;
}

/** runbooks/ in the source tree, also when running from dist/runbooks. */
export const BUILTIN_DIR = fs.existsSync(path.join(__dirname, 'demo.yaml'))
  ? __dirname
  : path.resolve(__dirname, '..', '..', 'runbooks');

/** `standard` → runbooks/standard.yaml; a path is used as it is. */
export function resolveRunbookPath(nameOrPath: string): string {
  if (/[/\\]|\.ya?ml$/.test(nameOrPath)) return path.resolve(nameOrPath);
  return path.join(BUILTIN_DIR, `${nameOrPath}.yaml`);
}

/** Parses, validates and cross-checks a runbook; throws an InputError listing every problem with file:line. */
export function loadRunbook(nameOrPath: string, options: ValidateOptions = {}): LoadedRunbook {
  const file = resolveRunbookPath(nameOrPath);
  if (!fs.existsSync(file)) throw new InputError(`runbook not found: ${file}`);
  const { runbook, problems } = validateRunbookText(fs.readFileSync(file, 'utf8'), options);
  if (problems.length || !runbook) {
    const rel = path.relative(process.cwd(), file) || file;
    throw new InputError(
      `runbook ${rel} is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  ${rel}:${p.line ?? '?'}: ${p.path}: ${p.message}`).join('\n'),
    );
  }
  return { file, runbook };
}

export function validateRunbookText(
  text: string,
  options: ValidateOptions = {},
): { runbook?: RunbookSpec; problems: RunbookProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    return {
      problems: doc.errors.map((e) => ({
        line: e.linePos?.[0]?.line,
        path: '(yaml)',
        message: e.message.split('\n')[0],
      })),
    };
  }
  const lineOf = makeLineOf(doc, lineCounter);
  const parsed = RunbookSpec.safeParse(doc.toJS());
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((i) => {
        const p = i.path.filter((x): x is string | number => typeof x !== 'symbol');
        return { line: lineOf(p), path: describePath(doc, p), message: i.message };
      }),
    };
  }
  const runbook = parsed.data;
  const problems = crossCheck(runbook, options).map((p) => ({
    ...p,
    line: lineOf(p.at),
    path: describePath(doc, p.at),
  }));
  return { runbook: problems.length ? undefined : runbook, problems };
}

function makeLineOf(doc: Document, lc: LineCounter) {
  return (p: (string | number)[]): number | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const node = doc.getIn(p.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lc.linePos(node.range[0]).line;
    }
    return undefined;
  };
}

function describePath(doc: Document, p: (string | number)[]): string {
  // steps[3] → "step 4 (steps[3])" so a person finds it by number.
  if (p[0] === 'steps' && typeof p[1] === 'number') {
    const n = doc.getIn(['steps', p[1], 'step']);
    const rest = p.slice(2).join('.');
    return `step ${n ?? '?'}${rest ? '.' + rest : ''}`;
  }
  return p.join('.') || '(root)';
}

function crossCheck(
  runbook: RunbookSpec,
  options: ValidateOptions,
): { at: (string | number)[]; message: string }[] {
  const problems: { at: (string | number)[]; message: string }[] = [];
  const phases = new Map(runbook.phases.map((p) => [p.id, p]));
  const byNumber = new Map<number, { spec: StepSpec; index: number }>();
  runbook.phases.forEach((p, i) => {
    if (runbook.phases.findIndex((q) => q.id === p.id) !== i)
      problems.push({ at: ['phases', i, 'id'], message: `phase ${p.id} is defined twice` });
  });
  runbook.steps.forEach((s, index) => {
    if (byNumber.has(s.step))
      problems.push({ at: ['steps', index, 'step'], message: `step number ${s.step} is used twice` });
    byNumber.set(s.step, { spec: s, index });
  });
  for (const [n, { spec: s, index }] of byNumber) {
    const at = (...rest: (string | number)[]) => ['steps', index, ...rest];
    const phase = phases.get(s.phase);
    if (!phase) problems.push({ at: at('phase'), message: `phase "${s.phase}" is not defined in phases` });
    if ((s.kind === 'automated' || s.kind === 'verification') && !s.action) {
      problems.push({ at: at('kind'), message: `a ${s.kind} step needs an action` });
    }
    if (s.action && options.actionExists && !options.actionExists(s.action)) {
      problems.push({
        at: at('action'),
        message: `action "${s.action}" is not in the activity registry (see t2t actions list)`,
      });
    }
    if (s.kind === 'approval' && !s.gate)
      problems.push({ at: at('kind'), message: 'an approval step needs a gate (roles, quorum, timeout)' });
    if (s.kind !== 'approval' && s.gate)
      problems.push({ at: at('gate'), message: 'only approval steps have a gate' });
    if (s.gate && s.gate.remindBefore.length && !s.gate.timeout) {
      problems.push({
        at: at('gate', 'remindBefore'),
        message: 'reminders need a gate timeout to count back from',
      });
    }
    if (s.forEach && s.kind !== 'automated')
      problems.push({ at: at('forEach'), message: 'only automated steps fan out per mailbox' });
    s.dependsOn.forEach((d, i) => {
      const dep = byNumber.get(d);
      if (!dep)
        problems.push({ at: at('dependsOn', i), message: `depends on step ${d}, which does not exist` });
      else if (d === n) problems.push({ at: at('dependsOn', i), message: 'a step cannot depend on itself' });
      else if (phase && phases.get(dep.spec.phase) && phases.get(dep.spec.phase)!.plan !== phase.plan) {
        problems.push({
          at: at('dependsOn', i),
          message: `step ${d} belongs to the ${phases.get(dep.spec.phase)!.plan} plan; dependencies stay within one plan`,
        });
      }
    });
    (s.backout ?? []).forEach((b, i) => {
      const target = byNumber.get(b);
      if (!target) problems.push({ at: at('backout', i), message: `back-out step ${b} does not exist` });
      else if (phases.get(target.spec.phase)?.plan !== 'backout') {
        problems.push({ at: at('backout', i), message: `step ${b} is not in a back-out phase` });
      }
    });
    for (const ref of placeholders(s.params ?? {})) {
      const m = /^steps\.(\d+)\./.exec(ref);
      if (m) {
        const ref_ = Number(m[1]);
        if (!ancestors(byNumber, n).has(ref_)) {
          problems.push({
            at: at('params'),
            message: `{{ ${ref} }} refers to step ${ref_}, which is not a (transitive) dependency`,
          });
        }
      } else if (/^forward\.steps\.\d+\./.test(ref)) {
        const fwd = byNumber.get(Number(ref.split('.')[2]));
        if (phase?.plan !== 'backout') {
          problems.push({
            at: at('params'),
            message: `{{ ${ref} }}: only back-out steps read the forward run's results`,
          });
        } else if (!fwd || phases.get(fwd.spec.phase)?.plan !== 'forward') {
          problems.push({
            at: at('params'),
            message: `{{ ${ref} }} refers to a step that is not in the forward plan`,
          });
        }
      } else if (!/^(plan|run|batch|mailbox)\./.test(ref) && !['mailbox', 'batch'].includes(ref)) {
        problems.push({
          at: at('params'),
          message: `{{ ${ref} }}: placeholders start with plan., run., steps.N., forward.steps.N. (back-out), batch. or mailbox`,
        });
      }
    }
  }
  const cycle = findCycle(runbook.steps);
  if (cycle) {
    const index = byNumber.get(cycle[0])?.index ?? 0;
    problems.push({ at: ['steps', index, 'dependsOn'], message: `dependency cycle: ${cycle.join(' → ')}` });
  }
  return problems;
}

function ancestors(byNumber: Map<number, { spec: StepSpec }>, n: number): Set<number> {
  const seen = new Set<number>();
  const stack = [...(byNumber.get(n)?.spec.dependsOn ?? [])];
  while (stack.length) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...(byNumber.get(d)?.spec.dependsOn ?? []));
  }
  return seen;
}

/** Returns one cycle as a list of step numbers (first repeated at the end), or undefined. */
export function findCycle(steps: Pick<StepSpec, 'step' | 'dependsOn'>[]): number[] | undefined {
  const deps = new Map(steps.map((s) => [s.step, s.dependsOn]));
  const state = new Map<number, 1 | 2>();
  const stack: number[] = [];
  const visit = (n: number): number[] | undefined => {
    state.set(n, 1);
    stack.push(n);
    for (const d of deps.get(n) ?? []) {
      if (!deps.has(d)) continue;
      if (state.get(d) === 1) return [...stack.slice(stack.indexOf(d)), d];
      if (!state.has(d)) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(n, 2);
    return undefined;
  };
  for (const s of steps) {
    if (!state.has(s.step)) {
      const c = visit(s.step);
      if (c) return c;
    }
  }
  return undefined;
}
