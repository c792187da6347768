import { z } from 'zod';
import type { CommandSpec } from './framework';
import { loadRunbook } from '../runbooks/load';
import { actionExists } from '../activities/registry';
import type { RunbookSpec } from '../runbooks/schema';

const schema = z.strictObject({
  runbook: z.string().min(1),
  format: z.enum(['mermaid', 'dot']).default('mermaid'),
});

function label(text: string): string {
  return text
    .replace(/["\\]/g, "'")
    .replace(/[\r\n]+/g, ' ')
    .slice(0, 60);
}

export function toMermaid(rb: RunbookSpec): string {
  const lines = ['flowchart TD'];
  for (const p of rb.phases) {
    lines.push(
      `  subgraph ${p.id.replace(/-/g, '_')}["${label(p.title)}${p.plan === 'backout' ? ' (back-out)' : ''}"]`,
    );
    for (const s of rb.steps.filter((x) => x.phase === p.id)) {
      const text = `${s.step}. ${label(s.title)}`;
      const shape =
        s.kind === 'approval'
          ? `{"${text}"}`
          : s.kind === 'manual'
            ? `[/"${text}"/]`
            : s.kind === 'verification'
              ? `(["${text}"])`
              : `["${text}"]`;
      lines.push(`    s${s.step}${shape}`);
    }
    lines.push('  end');
  }
  for (const s of rb.steps) for (const d of s.dependsOn) lines.push(`  s${d} --> s${s.step}`);
  return lines.join('\n');
}

export function toDot(rb: RunbookSpec): string {
  const lines = ['digraph runbook {', '  rankdir=TB;', '  node [fontname="Helvetica", fontsize=10];'];
  for (const p of rb.phases) {
    lines.push(
      `  subgraph "cluster_${p.id}" {`,
      `    label="${label(p.title)}${p.plan === 'backout' ? ' (back-out)' : ''}";`,
    );
    for (const s of rb.steps.filter((x) => x.phase === p.id)) {
      const shape =
        s.kind === 'approval'
          ? 'diamond'
          : s.kind === 'manual'
            ? 'parallelogram'
            : s.kind === 'verification'
              ? 'ellipse'
              : 'box';
      lines.push(`    s${s.step} [label="${s.step}. ${label(s.title)}", shape=${shape}];`);
    }
    lines.push('  }');
  }
  for (const s of rb.steps) for (const d of s.dependsOn) lines.push(`  s${d} -> s${s.step};`);
  lines.push('}');
  return lines.join('\n');
}

const command: CommandSpec<z.infer<typeof schema>> = {
  name: 'runbook graph',
  description: "Print the runbook's dependency graph grouped by phase (mermaid or DOT)",
  args: [{ name: 'runbook', description: 'runbook name or path' }],
  options: [
    {
      flags: '-f, --format <format>',
      description: 'mermaid|dot',
      default: 'mermaid',
      choices: ['mermaid', 'dot'],
    },
  ],
  schema,
  async action(o, io) {
    const { runbook } = loadRunbook(o.runbook, { actionExists });
    io.out.line(o.format === 'dot' ? toDot(runbook) : toMermaid(runbook));
  },
};
export default command;
