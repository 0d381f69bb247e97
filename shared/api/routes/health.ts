/** GET /health: the chain the API reaches and the contracts it serves. */
import { ok, route, type Route } from '../router';
import type { HealthResponse } from '../schemas';
import { apiServices, type ApiServices } from '../services';

export async function health(s: ApiServices): Promise<HealthResponse> {
  const [network, blockNumber] = await Promise.all([s.provider.getNetwork(), s.provider.getBlockNumber()]);
  return {
    chainId: network.chainId.toString(),
    blockNumber,
    contracts: { market: s.env.OPML_MARKET, registry: s.env.OPML_REGISTRY, staking: s.env.OPML_STAKING, token: s.env.OPML_TOKEN, game: s.env.OPML_GAME ?? null },
  };
}

export const healthRoutes: Route[] = [
  route({
    method: 'GET',
    path: '/health',
    async handle() {
      return ok(await health(await apiServices()));
    },
  }),
];
