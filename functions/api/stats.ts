/** HTTP API (payload v2): GET /stats. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { statsRoutes } from '../../shared/api/routes/stats';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(statsRoutes);
