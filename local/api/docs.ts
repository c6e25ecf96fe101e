// The offline /docs page: every operation of the OpenAPI 3.1 document with its scope, parameters and schemas.

type Json = unknown;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** A schema as HTML-escaped JSON with `$ref`s turned into links to the schema section. */
function schemaHtml(schema: Json): string {
  const text = escapeHtml(JSON.stringify(schema, null, 2));
  return text.replace(
    /(&quot;\$ref&quot;: &quot;)#\/components\/schemas\/([A-Za-z0-9_.-]+)(&quot;)/g,
    (_m, a: string, name: string, b: string) => `${a}<a href="#schema-${name}">#/components/schemas/${name}</a>${b}`,
  );
}

function securityHtml(security: unknown, schemes: Record<string, unknown>): string {
  if (!Array.isArray(security) || security.length === 0) return '<span class="public">public (no token)</span>';
  const parts: string[] = [];
  for (const requirement of security) {
    if (!isRecord(requirement)) continue;
    for (const [name, scopes] of Object.entries(requirement)) {
      const scheme = schemes[name];
      const kind = isRecord(scheme) ? String(scheme.type) : 'unknown';
      const list =
        Array.isArray(scopes) && scopes.length > 0 ? ` scope <code>${escapeHtml(scopes.join(' '))}</code>` : '';
      const header =
        isRecord(scheme) && scheme.type === 'apiKey' ? ` header <code>${escapeHtml(String(scheme.name))}</code>` : '';
      parts.push(`${escapeHtml(name)} (${escapeHtml(kind)})${list}${header}`);
    }
  }
  return parts.join(' + ');
}

/** Renders the document as one self-contained page (inline CSS, no scripts, no external resources). */
export function docsHtml(document: Json, links: { readonly openApiUrl: string; readonly tokenUrl?: string }): string {
  const doc = isRecord(document) ? document : {};
  const info = isRecord(doc.info) ? doc.info : {};
  const components = isRecord(doc.components) ? doc.components : {};
  const schemes = isRecord(components.securitySchemes) ? components.securitySchemes : {};
  const schemas = isRecord(components.schemas) ? components.schemas : {};
  const servers = Array.isArray(doc.servers) ? doc.servers.filter(isRecord).map((s) => String(s.url)) : [];
  const ops: string[] = [];
  const index: string[] = [];
  for (const [path, item] of Object.entries(isRecord(doc.paths) ? doc.paths : {})) {
    if (!isRecord(item)) continue;
    for (const [method, raw] of Object.entries(item)) {
      if (!isRecord(raw) || !/^(get|put|post|delete|patch|head|options)$/.test(method)) continue;
      const id = String(raw.operationId ?? `${method}-${path}`);
      index.push(
        `<li><a href="#op-${escapeHtml(id)}"><span class="m ${method}">${method.toUpperCase()}</span> ${escapeHtml(path)}</a> — ${escapeHtml(String(raw.summary ?? ''))}</li>`,
      );
      const params = Array.isArray(raw.parameters) ? raw.parameters.filter(isRecord) : [];
      const paramRows = params
        .map(
          (p) =>
            `<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${escapeHtml(String(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td><pre>${schemaHtml(p.schema ?? {})}</pre></td></tr>`,
        )
        .join('');
      const body = isRecord(raw.requestBody) && isRecord(raw.requestBody.content) ? raw.requestBody.content : undefined;
      const bodyHtml = body
        ? Object.entries(body)
            .map(
              ([type, media]) =>
                `<h4>Request body <code>${escapeHtml(type)}</code></h4><pre>${schemaHtml(isRecord(media) ? media.schema : {})}</pre>`,
            )
            .join('')
        : '';
      const responses = isRecord(raw.responses) ? raw.responses : {};
      const responseRows = Object.entries(responses)
        .map(([status, r]) => {
          const content = isRecord(r) && isRecord(r.content) ? r.content : {};
          const schema = Object.values(content).find(isRecord)?.schema;
          const desc = isRecord(r) ? String(r.description ?? '') : '';
          return `<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(desc)}</td><td>${schema ? `<pre>${schemaHtml(schema)}</pre>` : ''}</td></tr>`;
        })
        .join('');
      ops.push(`<section id="op-${escapeHtml(id)}" class="op">
<h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code> <small>${escapeHtml(id)}</small></h3>
<p><strong>${escapeHtml(String(raw.summary ?? ''))}</strong></p>
<p>${escapeHtml(String(raw.description ?? ''))}</p>
<p>Security: ${securityHtml(raw.security, schemes)}</p>
${paramRows ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th></tr>${paramRows}</table>` : ''}
${bodyHtml}
<h4>Responses</h4><table><tr><th>status</th><th>description</th><th>schema</th></tr>${responseRows}</table>
</section>`);
    }
  }
  const schemaSections = Object.entries(schemas)
    .map(
      ([name, s]) =>
        `<section id="schema-${escapeHtml(name)}"><h3>${escapeHtml(name)}</h3><pre>${schemaHtml(s)}</pre></section>`,
    )
    .join('\n');
  const title = escapeHtml(String(info.title ?? 'API'));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
code,pre{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{background:#f5f5f7;padding:.6rem;overflow:auto;margin:0}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.op{border-top:2px solid #ddd;margin-top:1.5rem}.m{display:inline-block;min-width:4em;font-weight:600;color:#fff;border-radius:3px;text-align:center;padding:0 .3em}
.get{background:#2b7bb9}.post{background:#2e8b57}.put{background:#b8860b}.delete{background:#b22222}.patch{background:#6a5acd}
.public{color:#2e8b57}small{color:#666;font-weight:normal}
</style></head><body>
<h1>${title} <small>${escapeHtml(String(info.version ?? ''))}</small></h1>
<p>${escapeHtml(String(info.description ?? ''))}</p>
<p>Server: ${servers.map((s) => `<code>${escapeHtml(s)}</code>`).join(', ') || '<em>this host</em>'} · OpenAPI: <a href="${escapeHtml(links.openApiUrl)}">${escapeHtml(links.openApiUrl)}</a>${links.tokenUrl ? ` · token URL (client_credentials): <code>${escapeHtml(links.tokenUrl)}</code>` : ''}</p>
<h2>Operations</h2><ul>${index.join('')}</ul>
${ops.join('\n')}
<h2>Schemas</h2>
${schemaSections}
</body></html>
`;
}
