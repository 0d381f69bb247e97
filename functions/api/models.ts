/** HTTP API (payload v2): POST /models/packages, GET /models/packages/{graphCid}/{weightsCid}, POST /models, GET /models, GET /models/{modelId}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { modelRoutes } from '../../shared/api/routes/models';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(modelRoutes);
