/** The opml SDK: connect, then call the requester, provider and model-owner operations with the context. */
export { OpmlApiClient, type ApiClientOptions, type TaskDetail, type ModelDetail, type ProviderDetail, type Stats, type HealthResponse } from './apiClient';
export { connectOpml, connectContracts, addressesFromMarket, chainNow, type OpmlContext, type ConnectOptions, type ContractAddresses, type MarketContracts } from './context';
export { creditOf, withdrawCredit, type WithdrawCreditResult } from './credits';
export { readChallenges, readGame, GAME_OUTCOMES, type ChallengeState, type GameState, type GameOutcomeName } from './disputes';
export * from './errors';
export { prepareGeneration, readGenerationOutput, type PreparedGeneration } from './generation';
export { prepareInput, inputSpecOf, packageSpecOf, pngToGray, pngToMnist, grayToPng, promptToIds, MNIST_SIDE, type InputSource, type PreparedInput } from './inputs';
export { readOutput, type OutputReading } from './outputs';
export { calibrationSamples, importModelFile, resolveModelPackage, registerModelPackage, ModelPackageError, MODELS_DIR, type RegisteredModel } from './models';
export { providerStatus, stake, requestUnbonding, withdraw, type ProviderStatus, type StakeResult } from './provider';
export { createTask, finalizeTask, readModel, readInputSpec, signOffline, DEFAULT_CHALLENGE_WINDOW, DEFAULT_DEADLINE_SECONDS, DEFAULT_MAX_TOKENS, type CreateTaskParams, type CreatedTask, type ModelInfo } from './requester';
export { readTask, waitForResult, waitForResultViaApi, FINAL_STATUSES, type TaskSnapshot, type WatchOptions, type ApiWatchOptions } from './taskState';
