// Health use case: what the service says about itself. It reads nothing, so it answers even when the data plane is down.
import type { HealthResponse } from '../shared/contracts/api.js';

export const healthReport = (service: string, version: string): HealthResponse => ({ status: 'ok', service, version });
