/** HTTP API (payload v2): GET /health. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { healthRoutes } from '../../shared/api/routes/health';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(healthRoutes);
