/**
 * The players of docs/dispute-spec.md. A player holds only what its party knows (the public graph
 * and its own tensors) and reads everything else from the chain on every turn (`getGame` and the
 * last `Bisected` event), so a crashed player is restarted by constructing it again.
 *
 * Each turn the player computes its honest move and hands it to a Strategy, which may send it,
 * replace it (lying, switching) or send nothing (stalling): tests plug adversaries in there.
 */
import { keccak256, type Signer } from 'ethers';
import type { DisputeGame, IMultiPhaseDispute } from '../../build/types';
import {
  graphFacts,
  graphStateAt,
  nodeOf,
  nodeRecord,
  nodeSiblings,
  resolveInput,
  slotSiblings,
  stepOf,
  weightSiblings,
  type DisputeGraph,
  type GraphFacts,
} from './graph';
import { imageRoot28, NodeRun } from './nodeRun';
import { checkDisputeContracts } from './trust';
import { dissectionPoints, PHASES, segmentCount, type PhaseName } from './spec';
import { merkleRootOfBytes } from '../vm/merkle';

export type Role = 'provider' | 'challenger';

export type Move =
  | { kind: 'open'; facts: GraphFacts; outputSiblings: string[] }
  | { kind: 'bisect'; values: string[] }
  | { kind: 'choose'; segment: number; values: string[] }
  | { kind: 'link'; proof: IMultiPhaseDispute.LinkProofStruct }
  | { kind: 'step'; state: Uint8Array; proofs: Uint8Array };

export interface Turn {
  role: Role;
  gameId: bigint;
  phase: PhaseName;
  game: IMultiPhaseDispute.GameViewStructOutput;
}

/** Decides what a player sends: the honest move, another one, or null to stay silent this turn. */
export interface Strategy {
  move(turn: Turn, honest: Move): Move | null;
}

export const HONEST: Strategy = { move: (_turn, honest) => honest };

/** What one call of `act` did. */
export type ActResult = 'moved' | 'timeout-claimed' | 'waiting' | 'silent' | 'resolved';

const hex = (b: Uint8Array): string => '0x' + Buffer.from(b).toString('hex');
const GAS_MARGIN = 100_000n;

export class Player {
  private readonly slots: Uint8Array[];
  private runs = new Map<number, NodeRun>();
  private checked = false;

  constructor(
    readonly role: Role,
    readonly contract: DisputeGame,
    readonly signer: Signer,
    readonly gameId: bigint,
    readonly graph: DisputeGraph,
    /** slot 0: the task input's bytes; slot j: node j's output bytes over every step, as this party holds (or claims) them. */
    readonly tensors: readonly Uint8Array[],
    readonly strategy: Strategy = HONEST,
  ) {
    this.slots = tensors.map((t) => merkleRootOfBytes(t));
  }

  /** One turn: moves if it is this party's turn, claims a timeout if the opponent's clock ran out. */
  async act(): Promise<ActResult> {
    await this.checkVersions();
    const game = await this.contract.getGame(this.gameId);
    const phase = PHASES[Number(game.phase)];
    if (phase === 'Resolved') return 'resolved';
    if (moverOf(phase) !== this.role) {
      const block = await this.signer.provider!.getBlock('latest');
      const clock = moverOf(phase) === 'provider' ? game.providerClock : game.challengerClock;
      if (BigInt(block!.timestamp) - game.lastMoveAt > clock) {
        const c = this.contract.connect(this.signer);
        const tx = await c.timeout.populateTransaction(this.gameId);
        await (await this.signer.sendTransaction({ ...tx, gasLimit: (await this.signer.estimateGas(tx)) * 2n + GAS_MARGIN })).wait();
        return 'timeout-claimed';
      }
      return 'waiting';
    }
    const turn: Turn = { role: this.role, gameId: this.gameId, phase, game };
    const move = this.strategy.move(turn, await this.honestMove(turn));
    if (move === null) return 'silent';
    await this.send(move);
    return 'moved';
  }

  private async checkVersions(): Promise<void> {
    if (this.checked) return;
    await checkDisputeContracts(this.contract, this.signer.provider!);
    this.checked = true;
  }

  private async send(move: Move): Promise<void> {
    const c = this.contract.connect(this.signer);
    const call =
      move.kind === 'open'
        ? c.open.populateTransaction(this.gameId, move.facts, move.outputSiblings)
        : move.kind === 'bisect'
          ? c.bisect.populateTransaction(this.gameId, move.values)
          : move.kind === 'choose'
            ? c.choose.populateTransaction(this.gameId, move.segment, move.values)
            : move.kind === 'link'
              ? c.link.populateTransaction(this.gameId, move.proof)
              : c.step.populateTransaction(this.gameId, move.state, move.proofs);
    const tx = await call;
    // Node estimates of calldata-heavy moves have come out below the gas they use (EIP-7623 floor
    // accounting); a lost move costs the game, unused gas costs nothing.
    const estimate = await this.signer.estimateGas(tx);
    await (await this.signer.sendTransaction({ ...tx, gasLimit: estimate * 2n + GAS_MARGIN })).wait();
  }

  /** The move this party's own knowledge dictates. */
  async honestMove(turn: Turn): Promise<Move> {
    const g = turn.game;
    switch (turn.phase) {
      case 'Open': {
        const facts = graphFacts(this.graph);
        // The output is the last step's (a plain model has one step).
        const outputSlot = this.nodeCount - this.graph.nodes.length + facts.outputSlot;
        return { kind: 'open', facts, outputSiblings: slotSiblings(this.slots, this.nodeCount, outputSlot) };
      }
      case 'GraphBisect':
      case 'VmBisect': {
        const inner = dissectionPoints(g.lo, g.hi).slice(1, -1);
        return { kind: 'bisect', values: inner.map((p) => this.valueAt(turn.phase, g, p)) };
      }
      case 'GraphChoose':
      case 'VmChoose': {
        const values = await this.lastBisection();
        const points = dissectionPoints(g.lo, g.hi);
        const claims = [...values, g.hiValue];
        let segment = segmentCount(g.lo, g.hi) - 1;
        for (let i = 0; i < claims.length; i++) {
          if (claims[i] !== this.valueAt(turn.phase, g, points[i + 1])) {
            segment = i;
            break;
          }
        }
        return { kind: 'choose', segment, values };
      }
      case 'Link':
        return { kind: 'link', proof: this.linkProof(Number(g.hi)) };
      case 'Step': {
        const witness = this.nodeRun(Number(g.node)).run.witnessAt(Number(g.lo));
        return { kind: 'step', state: witness.state, proofs: witness.proofs };
      }
      default:
        throw new Error(`no move in phase ${turn.phase}`);
    }
  }

  /** Nodes of the game's graph: the model's nodes over every step the party's tensors hold. */
  private get nodeCount(): number {
    return this.slots.length - 1;
  }

  /** This party's value at point p: a graph-state root, or the hash of its VM state (the claimed end from the step bound on). */
  private valueAt(phase: PhaseName, g: IMultiPhaseDispute.GameViewStructOutput, p: bigint): string {
    if (phase === 'GraphBisect' || phase === 'GraphChoose') return graphStateAt(this.slots, Number(p));
    const run = this.nodeRun(Number(g.node));
    if (this.role === 'provider' && p >= BigInt(run.stepBound())) return keccak256(run.endClaim(this.tensors[Number(g.node)]).state);
    return run.stateHashAt(p);
  }

  private nodeRun(node: number): NodeRun {
    let run = this.runs.get(node);
    if (!run) {
      run = new NodeRun(this.graph, this.tensors, node);
      this.runs.set(node, run);
    }
    return run;
  }

  private async lastBisection(): Promise<string[]> {
    const events = await this.contract.queryFilter(this.contract.filters.Bisected(this.gameId));
    const last = events[events.length - 1];
    return [...last.args.claims];
  }

  private linkProof(node: number): IMultiPhaseDispute.LinkProofStruct {
    const spec = nodeOf(this.graph, node);
    const record = nodeRecord(spec);
    const run = this.nodeRun(node);
    const end = run.endClaim(this.tensors[node]);
    const sources = spec.inputs.map((ref) => ({ ref, from: resolveInput(this.graph, node, ref) }));
    return {
      outputRoot: hex(this.slots[node]),
      slotSiblings: slotSiblings(this.slots, node, node),
      node: record,
      nodeSiblings: nodeSiblings(this.graph, stepOf(this.graph, node).index),
      inputRoots: sources.map(({ ref, from }) =>
        from.kind === 'slot' ? hex(this.slots[from.slot]) : from.kind === 'zero' ? hex(merkleRootOfBytes(new Uint8Array(ref.size))) : hex(this.graph.weightsTree.node(ref.index, ref.size)),
      ),
      inputSiblings: sources.map(({ ref, from }) =>
        from.kind === 'slot' ? slotSiblings(this.slots, node - 1, from.slot) : from.kind === 'zero' ? [] : weightSiblings(this.graph, ref.index, ref.size),
      ),
      imageRoot28: imageRoot28(this.graph.image),
      stepBound: run.stepBound(),
      endState: end.state,
      outputSiblings: end.outputSiblings,
    };
  }
}

export function moverOf(phase: PhaseName): Role {
  return phase === 'Open' || phase === 'GraphBisect' || phase === 'Link' || phase === 'VmBisect' ? 'provider' : 'challenger';
}
