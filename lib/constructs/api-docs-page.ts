// The API docs page: Swagger UI (swagger-ui-dist, served from the package, no CDN) over the API's OpenAPI document,
// with "Try it out" taking a bearer token. The local stage serves it at /docs/, the console site deploys it to /docs/;
// both pages load ../openapi.json, so the same files work in both places.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

/** The swagger-ui-dist files the page uses: nothing else of the package is ever served. */
export const SWAGGER_UI_FILES = [
  'swagger-ui.css',
  'swagger-ui-bundle.js',
  'favicon-16x16.png',
  'favicon-32x32.png',
  'oauth2-redirect.html',
  'oauth2-redirect.js',
] as const;

/** The page's own script (a file, not inline, so a CSP of script-src 'self' holds). */
export const DOCS_SCRIPT_FILE = 'docs.js';

/** The installed swagger-ui-dist folder. */
export function swaggerUiDir(): string {
  return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
}

/** index.html of the docs folder. */
export const DOCS_PAGE_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="aims-openapi" content="../openapi.json" />
    <title>AIMS API</title>
    <link rel="stylesheet" href="./swagger-ui.css" />
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32" />
    <link rel="icon" type="image/png" href="./favicon-16x16.png" sizes="16x16" />
  </head>
  <body>
    <main id="swagger-ui"></main>
    <script src="./swagger-ui-bundle.js"></script>
    <script src="./${DOCS_SCRIPT_FILE}"></script>
  </body>
</html>
`;

/**
 * Loads the document and starts Swagger UI. Where an operation takes the OAuth2 scheme it also accepts a pasted bearer
 * token (the API's authorizer reads the same Authorization header), so "Try it out" works with the token of any
 * client or person; authorizations persist across reloads.
 */
export const DOCS_SCRIPT = `// AIMS API docs: Swagger UI over the API's OpenAPI document (see lib/constructs/api-docs-page.ts).
window.addEventListener('load', async () => {
  const meta = document.querySelector('meta[name="aims-openapi"]');
  const url = new URL(meta ? meta.content : '../openapi.json', document.baseURI).href;
  const response = await fetch(url);
  if (!response.ok) {
    document.getElementById('swagger-ui').textContent = 'Cannot load ' + url + ': HTTP ' + response.status;
    return;
  }
  const spec = await response.json();
  const schemes = ((spec.components ??= {}).securitySchemes ??= {});
  let bearer = Object.keys(schemes).find((k) => schemes[k].type === 'http' && schemes[k].scheme === 'bearer');
  if (!bearer) {
    bearer = 'bearer';
    schemes.bearer = {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: 'An access token: npx aims token <client> locally, or the one the console signed you in with.',
    };
    for (const item of Object.values(spec.paths ?? {})) {
      for (const operation of Object.values(item ?? {})) {
        if (!operation || !Array.isArray(operation.security)) continue;
        for (const requirement of [...operation.security]) {
          const oauth = Object.keys(requirement).find((k) => schemes[k] && schemes[k].type === 'oauth2');
          if (!oauth) continue;
          const { [oauth]: _scopes, ...rest } = requirement;
          operation.security.push({ [bearer]: [], ...rest });
        }
      }
    }
  }
  window.ui = SwaggerUIBundle({
    spec,
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: true,
    oauth2RedirectUrl: new URL('oauth2-redirect.html', document.baseURI).href,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;
