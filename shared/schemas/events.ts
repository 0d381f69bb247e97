/**
 * Decoded contract events as they travel on the events queue: one JSON record per log, numbers as
 * decimal strings (uint256 does not fit a JSON number), validated again by every consumer.
 */
import { z } from 'zod';

export const CONTRACT_KINDS = ['market', 'registry', 'staking', 'game'] as const;
export type ContractKind = (typeof CONTRACT_KINDS)[number];

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 32-byte hex string');
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address');
const uint = z.string().regex(/^(0|[1-9][0-9]*)$/, 'must be a decimal unsigned integer');

/** Plain JSON values: what an event argument becomes once bigints are strings. */
export type ArgValue = string | boolean | ArgValue[];
const argValue: z.ZodType<ArgValue> = z.lazy(() => z.union([z.string(), z.boolean(), z.array(argValue)]));

/** The arguments the materialized views read, per event name; other events keep free-form arguments. */
export const EVENT_ARGS = {
  TaskCreated: z.object({ taskId: uint, requester: address, modelId: uint, bounty: uint, fee: uint, deadline: uint, collateral: uint, challengeWindow: uint }).passthrough(),
  TaskClaimed: z.object({ taskId: uint, provider: address }).passthrough(),
  TaskCommitted: z.object({ taskId: uint, outputRoot: hex32, graphStateRoot: hex32, windowEnd: uint }).passthrough(),
  TaskChallenged: z.object({ taskId: uint, challengeIndex: uint, challenger: address, game: address, bond: uint }).passthrough(),
  ChallengeResolved: z.object({ taskId: uint, challengeIndex: uint, status: uint }).passthrough(),
  TaskRefuted: z.object({ taskId: uint, challengeIndex: uint, slashed: uint }).passthrough(),
  TaskFinalized: z.object({ taskId: uint, provider: address, bounty: uint, fee: uint }).passthrough(),
  TaskExpired: z.object({ taskId: uint, provider: address, refund: uint, slashed: uint }).passthrough(),
  ChallengeRewarded: z.object({ taskId: uint, challengeIndex: uint, challenger: address, reward: uint }).passthrough(),
  ChallengeWindowExtended: z.object({ taskId: uint, windowEnd: uint }).passthrough(),
  Credited: z.object({ account: address, taskId: uint, amount: uint }).passthrough(),
  CreditWithdrawn: z.object({ account: address, to: address, amount: uint }).passthrough(),
  ModelRegistered: z.object({ modelId: uint, owner: address, fee: uint }).passthrough(),
  ModelDeactivated: z.object({ modelId: uint }).passthrough(),
  ModelFeeSet: z.object({ modelId: uint, fee: uint }).passthrough(),
  Staked: z.object({ staker: address, amount: uint, staked: uint }).passthrough(),
  UnbondingRequested: z.object({ staker: address, amount: uint }).passthrough(),
  Withdrawn: z.object({ staker: address, amount: uint }).passthrough(),
  CollateralLocked: z.object({ staker: address, amount: uint, locked: uint }).passthrough(),
  CollateralUnlocked: z.object({ staker: address, amount: uint, locked: uint }).passthrough(),
  Slashed: z.object({ staker: address, amount: uint, beneficiary: address }).passthrough(),
  GameCreated: z.object({ gameId: uint, taskId: uint, challengeIndex: uint }).passthrough(),
  GameResolved: z.object({ gameId: uint, outcome: uint }).passthrough(),
} as const;
export type KnownEventName = keyof typeof EVENT_ARGS;

export const chainEventSchema = z
  .object({
    /** Stable identity across deliveries: `${txHash}:${logIndex}`. */
    id: z.string().regex(/^0x[0-9a-f]{64}:(0|[1-9][0-9]*)$/, 'must be txHash:logIndex'),
    contract: z.enum(CONTRACT_KINDS),
    address,
    name: z.string().min(1),
    blockNumber: z.number().int().nonnegative(),
    blockHash: hex32,
    /** Unix seconds of the block. */
    timestamp: z.number().int().nonnegative(),
    txHash: hex32,
    logIndex: z.number().int().nonnegative(),
    args: z.record(z.string(), argValue),
  })
  .strict()
  .superRefine((event, ctx) => {
    const schema = EVENT_ARGS[event.name as KnownEventName];
    if (!schema) return;
    const parsed = schema.safeParse(event.args);
    if (!parsed.success) for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['args', ...issue.path] });
  });
export type ChainEvent = z.infer<typeof chainEventSchema>;

/** What the indexer puts on the events queue: an event, or the retraction of one a reorg orphaned. */
export const eventMessageSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('event'), event: chainEventSchema }).strict(),
  z.object({ kind: z.literal('orphaned'), event: chainEventSchema }).strict(),
]);
export type EventMessage = z.infer<typeof eventMessageSchema>;
