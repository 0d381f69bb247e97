/** `opml dispute inspect`. */
import type { Command } from 'commander';
import { readTask } from '../../sdk';
import { closeContext, contextOf, outputOf } from '../globals';
import { formatDuration, formatTokens, parseId } from '../output';

export function disputeCommands(program: Command): void {
  const dispute = program.command('dispute').description('read dispute games');

  dispute
    .command('inspect <taskId>')
    .description("every challenge of a task and its game: phase, whose move, clocks, the narrowed range, each move")
    .action(async (id: string, _opts, cmd: Command) => {
      const taskId = parseId(id, 'task id');
      const ctx = await contextOf(cmd);
      try {
        const s = await readTask(ctx, taskId);
        const lines = [`task ${taskId}: ${s.status}, ${s.challenges.length} challenge${s.challenges.length === 1 ? '' : 's'}`];
        if (s.challenges.length === 0)
          lines.push(s.status === 'Committed' ? `  not challenged; the window closes in ${formatDuration(s.secondsLeft)}` : '  not challenged');
        for (const c of s.challenges) {
          lines.push(`  challenge #${c.index} by ${c.challenger}, bond ${formatTokens(c.bond)}: ${c.status}`);
          const g = c.game;
          if (!g) {
            lines.push('    no game was created');
            continue;
          }
          lines.push(`    game ${g.gameId} at ${g.game}: phase ${g.phase}, outcome ${g.outcome}${g.mover ? `, ${g.mover} to move` : ''}`);
          lines.push(`    clocks: provider ${formatDuration(g.providerClock)}, challenger ${formatDuration(g.challengerClock)}; graph of ${g.nodeCount} nodes, node ${g.node}, range [${g.lo}, ${g.hi}]`);
          lines.push(`    moves (${g.moves.length}): ${g.moves.map((m) => m.name).join(', ') || 'none yet'}`);
        }
        outputOf(cmd).result({ taskId, status: s.status, challenges: s.challenges }, lines);
      } finally {
        closeContext(ctx);
      }
    });
}
