/**
 * A task as lines for a person: the timeline (Open, Claimed, Committed with the window countdown,
 * the final status), every challenge with its game's phase, mover, clocks and moves. `task watch`
 * redraws these in place on a terminal and prints one line per change otherwise.
 */
import type { ChallengeState, TaskSnapshot } from '../sdk';
import { formatDuration, formatTokens, short } from './output';

export interface TaskExtras {
  /** What the committed output means, when the model's spec could be read. */
  outputMeaning?: string;
}

const STEPS = ['Open', 'Claimed', 'Committed'] as const;
const ORDER: Record<string, number> = { Open: 0, Claimed: 1, Committed: 2, Finalized: 3, Refuted: 3, Expired: 3 };

function challengeLine(c: ChallengeState): string {
  const head = `challenge #${c.index} by ${short(c.challenger)} (bond ${formatTokens(c.bond)}): ${c.status}`;
  if (!c.game) return `${head}, no game yet`;
  const g = c.game;
  const turn = g.mover ? `, ${g.mover} to move` : '';
  const range = g.phase.startsWith('Graph') || g.phase.startsWith('Vm') ? ` [${g.lo}, ${g.hi}]` : '';
  return `${head} · game ${g.gameId} · ${g.phase}${range}${turn} · ${g.moves.length} move${g.moves.length === 1 ? '' : 's'} · outcome ${g.outcome}`;
}

export function taskLines(s: TaskSnapshot, extras: TaskExtras = {}): string[] {
  const lines = [`task ${s.taskId} · model ${s.modelId} · bounty ${formatTokens(s.bounty)} · fee ${formatTokens(s.fee)} · collateral ${formatTokens(s.collateral)}`];
  const at = ORDER[s.status];
  for (const [i, step] of STEPS.entries()) {
    const mark = at > i ? '✓' : at === i ? '●' : '·';
    let detail = '';
    if (step === 'Open') detail = at === 0 ? `waiting for a provider · deadline in ${formatDuration(s.secondsLeft)}` : `requested by ${short(s.requester)}`;
    if (step === 'Claimed' && s.provider) detail = at === 1 ? `by ${short(s.provider)} · must commit within ${formatDuration(s.secondsLeft)}` : `by ${short(s.provider)}`;
    if (step === 'Committed' && at >= 2) {
      const meaning = extras.outputMeaning ? `${extras.outputMeaning} · ` : '';
      detail = `${meaning}output root ${s.outputRoot?.slice(0, 10)}…`;
      if (s.status === 'Committed') detail += s.secondsLeft > 0n ? ` · challenge window closes in ${formatDuration(s.secondsLeft)}` : ' · window over, waiting for finalize';
    }
    lines.push(`  ${mark} ${step.padEnd(10)} ${detail}`.trimEnd());
  }
  for (const c of s.challenges) lines.push(`      ${challengeLine(c)}`);
  if (at === 3) {
    const final = { Finalized: `provider paid ${formatTokens(s.bounty)}`, Refuted: 'the output was proven wrong; the provider was slashed', Expired: 'nobody delivered in time' }[s.status as 'Finalized' | 'Refuted' | 'Expired'];
    lines.push(`  ✓ ${s.status.padEnd(10)} ${final}`);
  }
  return lines;
}

/** What changes a plain (non-terminal) watch prints a new line for: not the ticking countdown. */
export function changeKey(s: TaskSnapshot): string {
  return [s.status, s.provider, ...s.challenges.map((c) => `${c.status}:${c.game?.phase}:${c.game?.moves.length}:${c.game?.outcome}`)].join('|');
}

/** One line per change for logs and pipes. */
export function changeLine(s: TaskSnapshot, extras: TaskExtras = {}): string {
  const parts = [`task ${s.taskId}: ${s.status}`];
  if (s.provider && s.status !== 'Open') parts.push(`provider ${s.provider}`);
  if (s.status === 'Committed') parts.push(`${extras.outputMeaning ?? `output ${s.outputRoot}`}`, `window closes in ${formatDuration(s.secondsLeft)}`);
  if (s.status === 'Open') parts.push(`deadline in ${formatDuration(s.secondsLeft)}`);
  if ((s.status === 'Finalized' || s.status === 'Refuted') && extras.outputMeaning) parts.push(`output: ${extras.outputMeaning}`);
  for (const c of s.challenges) parts.push(challengeLine(c));
  return parts.join(' · ');
}
