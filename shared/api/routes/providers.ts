/** Providers: the leaderboard from the providers view, and one provider with its stake read from the chain. */
import { NotFoundError } from '../errors';
import { ok, route, type Route } from '../router';
import { providerParamsSchema, providerViewSchema, type ProviderDetailResponse, type ProviderView } from '../schemas';
import { apiServices, type ApiServices } from '../services';
import { allViews } from '../viewList';

const isProviderView = (state: unknown): state is ProviderView => providerViewSchema.safeParse(state).success;

/** Every provider the indexer saw, most earned first (ties: most tasks finalized). */
export async function providerLeaderboard(s: ApiServices): Promise<ProviderView[]> {
  const providers = await allViews(s.s3, s.views, 'providers', isProviderView);
  return providers.sort((a, b) => {
    const earned = BigInt(b.earned) - BigInt(a.earned);
    return earned !== 0n ? (earned > 0n ? 1 : -1) : b.tasksFinalized - a.tasksFinalized;
  });
}

export async function providerDetail(s: ApiServices, address: string): Promise<ProviderDetailResponse> {
  const [view, stake, locked, unbonding] = await Promise.all([
    s.views.state('providers', address.toLowerCase()),
    s.staking.stakeOf(address),
    s.staking.lockedOf(address),
    s.staking.unbondingOf(address),
  ]);
  const indexed = isProviderView(view) ? view : undefined;
  if (!indexed && stake === 0n && locked === 0n && unbonding.amount === 0n)
    throw new NotFoundError(`${address} has never staked or served a task (GET /providers lists those who have)`);
  const base: ProviderView = indexed ?? {
    address: address.toLowerCase(),
    staked: stake.toString(),
    locked: locked.toString(),
    withdrawn: '0',
    slashed: '0',
    tasksClaimed: 0,
    tasksFinalized: 0,
    earned: '0',
    tasksExpired: 0,
  };
  return { ...base, chain: { stake: stake.toString(), locked: locked.toString(), unbonding: unbonding.amount.toString(), unbondingReadyAt: unbonding.readyAt.toString() } };
}

export const providerRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/providers',
    async handle() {
      return ok({ providers: await providerLeaderboard(await apiServices()) });
    },
  }),
  route({
    method: 'GET',
    path: '/providers/{address}',
    params: providerParamsSchema,
    async handle(req) {
      return ok(await providerDetail(await apiServices(), req.params.address));
    },
  }),
];
