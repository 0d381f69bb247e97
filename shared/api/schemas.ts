/**
 * The HTTP API's bodies, queries and responses (docs/service-spec.md section 4), as zod schemas the
 * handlers parse with and the SDK's typed client imports. Amounts and ids are decimal strings, bytes
 * 0x-hex unless the field is named `*Base64`.
 */
import { z } from 'zod';

// ---------------------------------------------------------------- scalars

export const decimalSchema = z.string().regex(/^\d+$/, 'must be a decimal integer string');
/** A decimal id that also accepts a JSON number, so `{"modelId": 1}` and `{"modelId": "1"}` both work. */
export const idSchema = z
  .union([decimalSchema, z.number().int().nonnegative().safe().transform(String)])
  .refine((s) => s.length <= 78, 'must fit in 256 bits');
export const addressSchema = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');
export const hexSchema = z.string().regex(/^0x([0-9a-fA-F]{2})*$/, 'must be 0x-prefixed hex bytes');
export const bytes32Schema = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be 0x-prefixed 32-byte hex');
export const base64Schema = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64').refine((s) => s.length % 4 === 0, 'must be base64 (length a multiple of 4)');
export const cidSchema = z.string().regex(/^b[a-z2-7]{20,}$/, 'must be a base32 CIDv1 (b…)');
export const signedTransactionSchema = hexSchema.refine((s) => s.length > 2, 'must not be empty');

export const TASK_STATUS_NAMES = ['None', 'Open', 'Claimed', 'Committed', 'Finalized', 'Refuted', 'Expired'] as const;
export const taskStatusSchema = z.enum(TASK_STATUS_NAMES);

// ---------------------------------------------------------------- errors

export const API_ERROR_CODES = ['InvalidRequest', 'NotFound', 'PayloadTooLarge', 'Conflict', 'TransactionRejected', 'Upstream', 'Internal'] as const;
export const apiErrorCodeSchema = z.enum(API_ERROR_CODES);
export const apiErrorBodySchema = z
  .object({
    error: z.object({
      code: apiErrorCodeSchema,
      message: z.string(),
      /** Dotted path of the offending field (InvalidRequest). */
      field: z.string().optional(),
      /** The decoded custom error of a reverted transaction (TransactionRejected). */
      revert: z.object({ name: z.string(), args: z.array(z.string()) }).optional(),
    }),
  })
  .strict();
export type ApiErrorBody = z.infer<typeof apiErrorBodySchema>;

// ---------------------------------------------------------------- views (the indexer's read model)

export const challengeViewSchema = z.object({
  index: decimalSchema,
  challenger: addressSchema,
  game: addressSchema,
  bond: decimalSchema,
  status: z.string(),
  /** What a winning challenger earned on top of its bond (ChallengeRewarded); null until then. */
  reward: decimalSchema.nullable().optional(),
});

export const taskViewSchema = z.object({
  taskId: decimalSchema,
  status: z.string(),
  requester: addressSchema.nullable(),
  modelId: decimalSchema.nullable(),
  bounty: decimalSchema.nullable(),
  inputCid: z.string().nullable(),
  provider: addressSchema.nullable(),
  outputRoot: bytes32Schema.nullable(),
  windowEnd: decimalSchema.nullable(),
  challenges: z.array(challengeViewSchema),
  /** What the task's settlement credited, to whom (each party withdraws it, docs/cli.md Credits). */
  credits: z.array(z.object({ account: addressSchema, amount: decimalSchema })).optional(),
  createdAt: z.number().nullable(),
  updatedAt: z.number().nullable(),
  challengeWindow: decimalSchema.nullable().optional(),
  /** Block timestamps of the task's status changes (absent from views written before they existed). */
  claimedAt: z.number().nullable().optional(),
  committedAt: z.number().nullable().optional(),
  finalizedAt: z.number().nullable().optional(),
  refutedAt: z.number().nullable().optional(),
  expiredAt: z.number().nullable().optional(),
});
export type TaskView = z.infer<typeof taskViewSchema>;

export const modelViewSchema = z.object({
  modelId: decimalSchema,
  owner: addressSchema.nullable(),
  graphCid: z.string().nullable(),
  weightsCid: z.string().nullable(),
  vmImageCid: z.string().nullable(),
  fee: decimalSchema.nullable(),
  active: z.boolean(),
  tasks: z.number().int(),
});
export type ModelView = z.infer<typeof modelViewSchema>;

export const providerViewSchema = z.object({
  address: z.string(),
  staked: decimalSchema,
  locked: decimalSchema,
  /** Absent in documents folded before the field existed. */
  unbonding: decimalSchema.optional(),
  withdrawn: decimalSchema,
  slashed: decimalSchema,
  tasksClaimed: z.number().int(),
  tasksFinalized: z.number().int(),
  earned: decimalSchema,
  tasksExpired: z.number().int(),
});
export type ProviderView = z.infer<typeof providerViewSchema>;

export const dailyViewSchema = z.object({
  day: z.string(),
  tasksCreated: z.number().int(),
  tasksFinalized: z.number().int(),
  challenges: z.number().int(),
  refuted: z.number().int(),
  expired: z.number().int(),
  bountyVolume: decimalSchema,
  paidOut: decimalSchema,
});
export type DailyView = z.infer<typeof dailyViewSchema>;

export const disputeViewSchema = z.object({
  dispute: z.string(),
  challenger: addressSchema.nullable(),
  game: addressSchema.nullable(),
  gameId: decimalSchema.nullable(),
  bond: decimalSchema.nullable(),
  status: z.string(),
  slashed: decimalSchema,
});
export type DisputeView = z.infer<typeof disputeViewSchema>;

export const gameMoveSchema = z.object({ name: z.string(), block: z.number().int(), timestamp: z.number() });
export const gameViewSchema = z.object({
  gameId: decimalSchema,
  moves: z.array(gameMoveSchema),
  outcome: z.string().nullable(),
  timedOutLoser: z.string().nullable(),
});
export type GameView = z.infer<typeof gameViewSchema>;

/** The registry's ModelSpec as JSON (IModelRegistry.ModelSpec). */
export const modelSpecSchema = z
  .object({
    graphSpecHash: bytes32Schema,
    weightsRoot: bytes32Schema,
    vmImageRoot: bytes32Schema,
    graphCid: cidSchema,
    weightsCid: cidSchema,
    vmImageCid: cidSchema,
    fee: decimalSchema,
  })
  .strict();
export type ModelSpecJson = z.infer<typeof modelSpecSchema>;

// ---------------------------------------------------------------- routes

/** GET /health */
export const healthResponseSchema = z.object({
  chainId: decimalSchema,
  blockNumber: z.number().int(),
  contracts: z.object({ market: addressSchema, registry: addressSchema, staking: addressSchema, token: addressSchema, game: addressSchema.nullable() }),
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

/** POST /inputs */
export const postInputRequestSchema = z.object({ modelId: idSchema, inputBase64: base64Schema }).strict();
export type PostInputRequest = z.input<typeof postInputRequestSchema>;
export const postInputResponseSchema = z.object({ inputCid: cidSchema, inputRoot: bytes32Schema, bytes: z.number().int() });
export type PostInputResponse = z.infer<typeof postInputResponseSchema>;

/** GET /blobs/{cid} */
export const blobParamsSchema = z.object({ cid: cidSchema });

/** POST /tasks */
export const postTaskRequestSchema = z.object({ signedTransaction: signedTransactionSchema }).strict();
export type PostTaskRequest = z.input<typeof postTaskRequestSchema>;
export const postTaskQuerySchema = z.object({ wait: z.enum(['true', 'false']).default('true') });
export const postTaskMinedResponseSchema = z.object({ taskId: decimalSchema, txHash: bytes32Schema, blockNumber: z.number().int() });
export const postTaskPendingResponseSchema = z.object({ txHash: bytes32Schema });
export const postTaskResponseSchema = z.union([postTaskMinedResponseSchema, postTaskPendingResponseSchema]);
export type PostTaskResponse = z.infer<typeof postTaskResponseSchema>;

/** GET /tasks */
export const MAX_TASK_LIST = 500;
export const listTasksQuerySchema = z
  .object({
    status: taskStatusSchema.optional(),
    requester: addressSchema.optional(),
    provider: addressSchema.optional(),
    modelId: decimalSchema.optional(),
    limit: z.coerce.number().int().min(1).max(MAX_TASK_LIST).default(50),
  })
  .strict();
export type ListTasksQuery = z.input<typeof listTasksQuerySchema>;
export const listTasksResponseSchema = z.object({ tasks: z.array(taskViewSchema) });

/** GET /tasks/{taskId} */
export const taskParamsSchema = z.object({ taskId: decimalSchema });
export const disputeProgressSchema = z.object({
  challengeIndex: decimalSchema,
  challenger: addressSchema,
  gameId: decimalSchema,
  phase: z.string(),
  moves: z.array(gameMoveSchema),
  outcome: z.enum(['Undecided', 'ProviderWon', 'ChallengerWon']),
});
export const taskDetailResponseSchema = taskViewSchema.extend({
  modelId: decimalSchema.nullable(),
  deadline: decimalSchema.optional(),
  inputRoot: bytes32Schema.optional(),
  output: hexSchema.optional(),
  outputShape: z.array(z.number().int()).optional(),
  predictedClass: z.number().int().optional(),
  /** How many times the model's nodes run (1, or a generation's steps). */
  steps: decimalSchema.optional(),
  /** A generation package's committed final state, read with the package's tokenizer. */
  generation: z
    .object({ promptTokens: z.array(z.number().int()), tokens: z.array(z.number().int()), text: z.string().optional(), stopped: z.boolean() })
    .optional(),
  dispute: disputeProgressSchema.optional(),
});
export type TaskDetailResponse = z.infer<typeof taskDetailResponseSchema>;

// ---------------------------------------------------------------- uploads (files go to S3, never through the API)

export const uploadIdSchema = z.string().regex(/^[A-Za-z0-9._~-]{1,1024}$/, 'must be an upload id POST /uploads returned');
export const uploadParamsSchema = z.object({ uploadId: uploadIdSchema });
const partNumberSchema = z.number().int().min(1).max(10_000);
const byteCountSchema = z.number().int().nonnegative().safe();

/** POST /uploads: start (or find already stored) the upload of one file, named by its CID. */
export const postUploadRequestSchema = z.object({ cid: cidSchema, size: byteCountSchema, partSize: byteCountSchema.optional() }).strict();
export type PostUploadRequest = z.input<typeof postUploadRequestSchema>;
export const uploadSessionSchema = z
  .object({
    uploadId: uploadIdSchema,
    cid: cidSchema,
    size: byteCountSchema,
    partSize: byteCountSchema,
    partCount: z.number().int().min(1),
    createdAt: z.string().datetime(),
    /** When the bucket's lifecycle rule drops the unfinished upload's parts. */
    expiresAt: z.string().datetime(),
  })
  .strict();
export type UploadSession = z.infer<typeof uploadSessionSchema>;
export const postUploadResponseSchema = z.union([
  z.object({ stored: z.literal(false), upload: uploadSessionSchema }).strict(),
  z.object({ stored: z.literal(true), cid: cidSchema, size: byteCountSchema }).strict(),
]);
export type PostUploadResponse = z.infer<typeof postUploadResponseSchema>;

/** POST /uploads/{uploadId}/parts: presigned PUT URLs for parts whose MD5 the uploader computed. */
export const postUploadPartsRequestSchema = z
  .object({ parts: z.array(z.object({ partNumber: partNumberSchema, md5Base64: base64Schema.refine((s) => s.length === 24, 'must be a base64 MD5 (16 bytes)') }).strict()).min(1).max(100) })
  .strict();
export type PostUploadPartsRequest = z.input<typeof postUploadPartsRequestSchema>;
export const postUploadPartsResponseSchema = z.object({
  parts: z.array(z.object({ partNumber: partNumberSchema, url: z.string().url(), expiresAt: z.string().datetime() })),
});
export type PostUploadPartsResponse = z.infer<typeof postUploadPartsResponseSchema>;

/** POST /uploads/{uploadId}/complete: every part's ETag, parts 1..partCount. */
export const postUploadCompleteRequestSchema = z
  .object({ parts: z.array(z.object({ partNumber: partNumberSchema, etag: z.string().min(1).max(200) }).strict()).min(1).max(10_000) })
  .strict();
export type PostUploadCompleteRequest = z.input<typeof postUploadCompleteRequestSchema>;
export const postUploadCompleteResponseSchema = z.object({ cid: cidSchema, size: byteCountSchema }).strict();

// ---------------------------------------------------------------- model packages (verified before registration)

export const PACKAGE_STATUSES = ['verifying', 'verified', 'rejected'] as const;
/** A package's verification record: the pinner's work on a (graph, weights) pair of uploaded files. */
export const packageRecordSchema = z
  .object({
    graphCid: cidSchema,
    weightsCid: cidSchema,
    status: z.enum(PACKAGE_STATUSES),
    requestId: z.string().min(1),
    requestedAt: z.string().datetime(),
    /** Weights bytes checked so far (verifying), for progress. */
    bytesVerified: byteCountSchema.optional(),
    weightsBytes: byteCountSchema.optional(),
    /** What registerModel must hold (fee aside), once verified. */
    registry: modelSpecSchema.omit({ fee: true }).optional(),
    nodes: z.number().int().optional(),
    verifiedAt: z.string().datetime().optional(),
    /** Why it was rejected: the file (graphCid, weightsCid) and what was wrong. */
    error: z.object({ name: z.string(), field: z.string().optional(), message: z.string() }).strict().optional(),
  })
  .strict();
export type PackageRecord = z.infer<typeof packageRecordSchema>;
export const packageParamsSchema = z.object({ graphCid: cidSchema, weightsCid: cidSchema });

/** POST /models/packages: verify two uploaded files as one model package (202 while the pinner works). */
export const postPackageRequestSchema = z.object({ graphCid: cidSchema, weightsCid: cidSchema }).strict();
export type PostPackageRequest = z.input<typeof postPackageRequestSchema>;

/** POST /models */
export const postModelRequestSchema = z.object({ signedTransaction: signedTransactionSchema }).strict();
export type PostModelRequest = z.input<typeof postModelRequestSchema>;
export const postModelResponseSchema = z.object({ modelId: decimalSchema, txHash: bytes32Schema });
export type PostModelResponse = z.infer<typeof postModelResponseSchema>;

/** GET /models, GET /models/{modelId} */
export const modelParamsSchema = z.object({ modelId: decimalSchema });
export const listModelsResponseSchema = z.object({ models: z.array(modelViewSchema) });
export const modelDetailResponseSchema = modelViewSchema.extend({
  spec: modelSpecSchema,
  active: z.boolean(),
  inputShape: z.array(z.number().int()),
  outputShape: z.array(z.number().int()),
});
export type ModelDetailResponse = z.infer<typeof modelDetailResponseSchema>;

/** GET /providers, GET /providers/{address} */
export const providerParamsSchema = z.object({ address: addressSchema });
export const listProvidersResponseSchema = z.object({ providers: z.array(providerViewSchema) });
export const providerDetailResponseSchema = providerViewSchema.extend({
  chain: z.object({ stake: decimalSchema, locked: decimalSchema, unbonding: decimalSchema, unbondingReadyAt: decimalSchema }),
});
export type ProviderDetailResponse = z.infer<typeof providerDetailResponseSchema>;

/** GET /stats */
export const statsResponseSchema = z.object({
  tasksByStatus: z.record(z.string(), z.number().int()),
  daily: z.array(dailyViewSchema),
  disputes: z.object({ total: z.number().int(), challengerWon: z.number().int(), providerWon: z.number().int(), pending: z.number().int() }),
  stake: z.object({ staked: decimalSchema, locked: decimalSchema, slashed: decimalSchema }),
  models: z.array(z.object({ modelId: decimalSchema, tasks: z.number().int() })),
  latency: z.object({ finalizedSeconds: z.array(z.number()) }),
});
export type StatsResponse = z.infer<typeof statsResponseSchema>;

/** GET /dashboard/{file} */
export const dashboardParamsSchema = z.object({ file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'must be a plain file name') });
