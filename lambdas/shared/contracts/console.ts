// The console's runtime configuration: written beside the built app at deploy time (CloudFront + S3) and by the local
// stage, read by the app at startup, so one build serves every stage.
import * as z from 'zod';

/** The file's name, beside the app's index.html. */
export const CONSOLE_CONFIG_FILE = 'config.json';

export const ConsoleConfig = z
  .object({
    /** The stage's name, shown in the header (e.g. Dev, Prod, local). */
    stage: z.string().min(1),
    /**
     * Base URL the app calls the API at; '' = the console's own origin (CloudFront routes /v1/* to the API, and the
     * local stage serves both from one server).
     */
    apiUrl: z.string(),
    auth: z
      .object({
        /** OpenID Connect issuer: the Cognito user pool, or the local stage's issuer for the same pool. */
        authority: z.url(),
        /** The console's public app client (authorization code + PKCE, no secret). */
        clientId: z.string().min(1),
        /** OAuth scopes the app asks for; a person gets those their groups allow. */
        scopes: z.array(z.string().min(1)).min(1),
        /** Where sign-out goes (Cognito's /logout is not in its discovery document). @default - none */
        logoutUrl: z.url().optional(),
      })
      .strict(),
  })
  .strict();
export type ConsoleConfig = z.infer<typeof ConsoleConfig>;
