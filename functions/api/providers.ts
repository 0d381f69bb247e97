/** HTTP API (payload v2): GET /providers, GET /providers/{address}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { providerRoutes } from '../../shared/api/routes/providers';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(providerRoutes);
