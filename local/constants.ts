// Local-only settings: local servers accept any credentials, so fixed dummies keep the SDK quiet.
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
export const LOCAL_STAGE = 'local';

export const DEFAULT_PORTS = { bus: 4010, dynamodb: 8000, ses: 8005, scheduler: 4011 } as const;

/** The analytical export's pseudonym secret on the laptop (Secrets Manager's in the cloud); `baton export` uses it by default. */
export const LOCAL_EXPORT_SECRET = 'local-only-export-secret';
