/** The local S3 and SQS servers tests run against (shared with `npm start`). */
export { startLocalAws, type LocalAws } from '../../shared/aws/localAws';
