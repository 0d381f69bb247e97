/** HTTP API (payload v2): GET /blobs/{cid}. */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { lambdaHandler } from '../../shared/api/router';
import { blobRoutes } from '../../shared/api/routes/blobs';

export const handler: (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyResultV2> = lambdaHandler(blobRoutes);
