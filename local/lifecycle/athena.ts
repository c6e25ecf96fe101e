// Local Athena for the BuildDataset step: DuckDB runs the template's own query over the local lake. Each Glue table
// of the database becomes a DuckDB table built from the objects under its Location, with the columns and partition
// keys the table declares (JSON keys matched case-insensitively, as the OpenX JSON SerDe does), and Athena's
// date_format is a macro over DuckDB's strftime. The result is written as Athena's CSV to the workgroup's output.
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { LocalResource, LocalTemplate } from '../types.js';
import type { LocalS3 } from './s3.js';

type HiveType =
  | { kind: 'scalar'; name: string }
  | { kind: 'map'; key: HiveType; value: HiveType }
  | { kind: 'struct'; fields: { name: string; type: HiveType }[] }
  | { kind: 'array'; item: HiveType };

/** Parses a Hive/Glue column type (`map<string,double>`, `struct<a:string,b:int>`, `array<…>`). */
export function parseHiveType(text: string): HiveType {
  let i = 0;
  const s = text.replace(/\s+/g, '');
  const ident = () => {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i));
    if (!m) throw new Error(`cannot parse Glue type '${text}' at ${i}`);
    i += m[0].length;
    return m[0];
  };
  const expect = (c: string) => {
    if (s[i] !== c) throw new Error(`cannot parse Glue type '${text}': expected '${c}' at ${i}`);
    i++;
  };
  const type = (): HiveType => {
    const name = ident().toLowerCase();
    if (name === 'map') {
      expect('<');
      const key = type();
      expect(',');
      const value = type();
      expect('>');
      return { kind: 'map', key, value };
    }
    if (name === 'array') {
      expect('<');
      const item = type();
      expect('>');
      return { kind: 'array', item };
    }
    if (name === 'struct') {
      expect('<');
      const fields: { name: string; type: HiveType }[] = [];
      for (;;) {
        const field = ident().toLowerCase();
        expect(':');
        fields.push({ name: field, type: type() });
        if (s[i] === ',') {
          i++;
          continue;
        }
        expect('>');
        return { kind: 'struct', fields };
      }
    }
    if (s[i] === '(') while (s[i] !== ')' && i < s.length) i++;
    if (s[i] === ')') i++;
    return { kind: 'scalar', name };
  };
  const out = type();
  if (i !== s.length) throw new Error(`cannot parse Glue type '${text}': trailing '${s.slice(i)}'`);
  return out;
}

const SCALARS: Record<string, string> = {
  string: 'VARCHAR',
  varchar: 'VARCHAR',
  char: 'VARCHAR',
  double: 'DOUBLE',
  float: 'FLOAT',
  int: 'INTEGER',
  integer: 'INTEGER',
  bigint: 'BIGINT',
  smallint: 'SMALLINT',
  tinyint: 'TINYINT',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  date: 'DATE',
  decimal: 'DOUBLE',
};

export function duckType(t: HiveType): string {
  switch (t.kind) {
    case 'scalar': {
      const d = SCALARS[t.name];
      if (!d) throw new Error(`Glue type ${t.name} has no local DuckDB equivalent`);
      return d;
    }
    case 'map':
      return `MAP(${duckType(t.key)}, ${duckType(t.value)})`;
    case 'array':
      return `${duckType(t.item)}[]`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `"${f.name}" ${duckType(f.type)}`).join(', ')})`;
  }
}

/** One JSON value shaped to the declared type, as the OpenX JSON SerDe reads it (unknown keys dropped). */
export function coerce(value: unknown, t: HiveType): unknown {
  if (value === undefined || value === null) return null;
  switch (t.kind) {
    case 'scalar':
      if (t.name === 'string' || t.name === 'varchar' || t.name === 'char') {
        return typeof value === 'string' ? value : JSON.stringify(value);
      }
      if (t.name === 'boolean') return typeof value === 'boolean' ? value : String(value).toLowerCase() === 'true';
      if (SCALARS[t.name] === 'VARCHAR') return String(value);
      if (t.name === 'timestamp' || t.name === 'date') return String(value);
      return typeof value === 'number' ? value : Number(value);
    case 'map':
      if (typeof value !== 'object' || Array.isArray(value)) return null;
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, coerce(v, t.value)]));
    case 'array':
      return Array.isArray(value) ? value.map((v) => coerce(v, t.item)) : null;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return null;
      const lower = new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
      return Object.fromEntries(t.fields.map((f) => [f.name, coerce(lower.get(f.name), f.type)]));
    }
  }
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

interface GlueTable {
  readonly name: string;
  readonly location: string;
  readonly locationTemplate?: string;
  readonly columns: { name: string; type: HiveType }[];
  readonly partitions: { name: string; type: HiveType }[];
}

function glueTables(template: LocalTemplate, database: string): GlueTable[] {
  return template
    .ofType('AWS::Glue::Table')
    .filter((t: LocalResource) => t.properties.DatabaseName === database)
    .map((t) => {
      const input = t.properties.TableInput as {
        Name: string;
        Parameters?: Record<string, string>;
        PartitionKeys?: { Name: string; Type: string }[];
        StorageDescriptor: { Location: string; Columns: { Name: string; Type: string }[] };
      };
      const col = (c: { Name: string; Type: string }) => ({ name: c.Name.toLowerCase(), type: parseHiveType(c.Type) });
      return {
        name: input.Name,
        location: input.StorageDescriptor.Location,
        ...(input.Parameters?.['storage.location.template']
          ? { locationTemplate: input.Parameters['storage.location.template'] }
          : {}),
        columns: input.StorageDescriptor.Columns.map(col),
        partitions: (input.PartitionKeys ?? []).map(col),
      };
    });
}

/** Partition values of an object key: from `storage.location.template` (`…/${dt}/`), else Hive `name=value/`. */
function partitionValues(table: GlueTable, uri: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  if (table.locationTemplate) {
    const names: string[] = [];
    const pattern = table.locationTemplate
      .split(/\$\{([^}]+)\}/)
      .map((part, i) => {
        if (i % 2 === 1) {
          names.push(part);
          return '(.+)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    const m = new RegExp(`^${pattern}`).exec(uri);
    if (!m) return undefined;
    names.forEach((n, i) => {
      out[n.toLowerCase()] = m[i + 1] as string;
    });
    return out;
  }
  for (const p of table.partitions) {
    const m = new RegExp(`/${p.name}=([^/]+)/`, 'i').exec(uri);
    if (!m) return undefined;
    out[p.name] = decodeURIComponent(m[1] as string);
  }
  return out;
}

/**
 * Athena (Presto) functions the template's queries use, as DuckDB macros: `date_format` over strftime,
 * `from_iso8601_timestamp` as a TIMESTAMPTZ cast, `json_extract_scalar` over json_extract_string.
 */
export async function prestoFunctions(db: { run(sql: string): Promise<unknown> }): Promise<void> {
  await db.run('CREATE MACRO date_format(ts, fmt) AS strftime(ts, fmt)');
  await db.run('CREATE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)');
  await db.run('CREATE MACRO json_extract_scalar(j, p) AS json_extract_string(j, p)');
}

/**
 * The query with Athena's execution parameters in place: each `?` outside a quoted string takes the next parameter,
 * a SQL literal as written (e.g. `'2026-12-06'`), as Athena substitutes them.
 */
export function withExecutionParameters(query: string, parameters: readonly string[] = []): string {
  let next = 0;
  let out = '';
  let quoted = false;
  for (const ch of query) {
    if (ch === "'") quoted = !quoted;
    if (ch === '?' && !quoted) {
      const value = parameters[next++];
      if (value === undefined)
        throw new Error(`the query has more '?' than the ${parameters.length} execution parameters`);
      out += value;
    } else out += ch;
  }
  if (next !== parameters.length) {
    throw new Error(`the query has ${next} '?' but ${parameters.length} execution parameters were given`);
  }
  return out;
}

export interface AthenaQueryInput {
  readonly QueryString: string;
  readonly ExecutionParameters?: readonly string[];
  readonly WorkGroup?: string;
  readonly QueryExecutionContext?: { readonly Database?: string };
  readonly ResultConfiguration?: { readonly OutputLocation?: string };
}

export interface LocalAthenaOptions {
  readonly template: LocalTemplate;
  readonly s3: LocalS3;
  readonly dataDir: string;
}

/** StartQueryExecution(.sync): runs the query and returns GetQueryExecution's answer for a SUCCEEDED query. */
export async function runAthenaQuery(options: LocalAthenaOptions, input: AthenaQueryInput) {
  const { template, s3 } = options;
  const database = input.QueryExecutionContext?.Database;
  if (!database) throw new Error('the local Athena needs QueryExecutionContext.Database');
  const workGroup = template
    .ofType('AWS::Athena::WorkGroup')
    .find((w) => w.ref === input.WorkGroup || w.properties.Name === input.WorkGroup);
  const wgConfig = workGroup?.properties.WorkGroupConfiguration as
    | { EnforceWorkGroupConfiguration?: boolean; ResultConfiguration?: { OutputLocation?: string } }
    | undefined;
  const output =
    (wgConfig?.EnforceWorkGroupConfiguration ? wgConfig.ResultConfiguration?.OutputLocation : undefined) ??
    input.ResultConfiguration?.OutputLocation ??
    wgConfig?.ResultConfiguration?.OutputLocation;
  if (!output) throw new Error(`workgroup ${input.WorkGroup ?? 'primary'} has no result OutputLocation`);
  const queryId = randomUUID();
  const work = join(options.dataDir, 'athena', queryId);
  mkdirSync(work, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const db = await instance.connect();
  try {
    await prestoFunctions(db);
    for (const table of glueTables(template, database)) {
      const columns = [...table.columns, ...table.partitions];
      const file = join(work, `${table.name}.jsonl`);
      const lines: string[] = [];
      for (const object of await s3.list(table.location)) {
        const parts = partitionValues(table, object.uri);
        if (!parts) continue;
        let body = await s3.get(object.uri);
        if (body[0] === 0x1f && body[1] === 0x8b) body = gunzipSync(body);
        for (const line of body.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          let record: Record<string, unknown>;
          try {
            record = JSON.parse(line) as Record<string, unknown>;
          } catch {
            continue; // the SerDe skips malformed lines when ignore.malformed.json is set; a bad line is not a row
          }
          const lower = new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
          const row = Object.fromEntries(table.columns.map((c) => [c.name, coerce(lower.get(c.name), c.type)]));
          for (const p of table.partitions) row[p.name] = coerce(parts[p.name], p.type);
          lines.push(JSON.stringify(row));
        }
      }
      const ddl = columns.map((c) => `"${c.name}" ${duckType(c.type)}`).join(', ');
      await db.run(`CREATE TABLE "${table.name}" (${ddl})`);
      if (lines.length > 0) {
        writeFileSync(file, `${lines.join('\n')}\n`);
        const spec = columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckType(c.type))}`).join(', ');
        await db.run(
          `INSERT INTO "${table.name}" SELECT * FROM read_json(${sqlString(file)}, format='newline_delimited', columns={${spec}})`,
        );
      }
    }
    const reader = await db.runAndReadAll(withExecutionParameters(input.QueryString, input.ExecutionParameters));
    const names = reader.columnNames();
    const rows = reader.getRowsJson();
    // Athena's CSV: a header, every value quoted, NULL as an empty unquoted field.
    const cell = (v: unknown) =>
      v === null || v === undefined ? '' : `"${(typeof v === 'string' ? v : JSON.stringify(v)).replaceAll('"', '""')}"`;
    const csv = [names.map((n) => cell(n)).join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n');
    const location = `${output.replace(/\/?$/, '/')}${queryId}.csv`;
    await s3.put(location, `${csv}\n`, 'text/csv');
    return {
      QueryExecution: {
        QueryExecutionId: queryId,
        Query: input.QueryString,
        StatementType: 'DML',
        ResultConfiguration: { OutputLocation: location },
        QueryExecutionContext: { Database: database },
        Status: { State: 'SUCCEEDED', SubmissionDateTime: Date.now() / 1000, CompletionDateTime: Date.now() / 1000 },
        Statistics: { DataScannedInBytes: 0 },
        WorkGroup: input.WorkGroup ?? 'primary',
      },
    };
  } finally {
    db.closeSync();
    instance.closeSync();
    rmSync(work, { recursive: true, force: true });
  }
}
