/**
 * The generated CRD and editor schema: the CRD is a valid, structural apiextensions/v1
 * object whose CEL rules stay within the cost budget, the editor schema is the zod
 * schema, and the committed files are what `npm run generate` writes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition';
import { RE2JS } from 're2js';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  API_GROUP,
  CRD_NAME,
  KIND,
  MAX_STACK_NAME_LENGTH,
  STACK_NAME_PATTERN,
  TelemetryStackResource,
  TelemetryStackSpec,
} from '../src/api/index.ts';
import { OPERATOR_DEFAULT } from '../src/api/spec.ts';
import { crdManifest, crdSchema, editorJsonSchema, EDITOR_SCHEMA_ID, type JsonSchema, structuralSchemaOf } from '../src/api/crd.ts';
import { ARTIFACTS, GENERATED_NOTICE, REPO_ROOT, staleArtifacts } from '../scripts/generate.ts';

// ---------------------------------------------------------------- helpers

interface Visit {
  readonly node: JsonSchema;
  /** Field path, e.g. "spec.access.users[].name". */
  readonly path: string;
}

/** Every schema node reachable through properties, items and additionalProperties. */
function walk(node: JsonSchema, path = ''): Visit[] {
  const visits: Visit[] = [{ node, path }];
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, JsonSchema>)) {
    visits.push(...walk(child, path ? `${path}.${name}` : name));
  }
  if (typeof node.items === 'object' && node.items !== null) visits.push(...walk(node.items as JsonSchema, `${path}[]`));
  if (typeof node.additionalProperties === 'object' && node.additionalProperties !== null) {
    visits.push(...walk(node.additionalProperties as JsonSchema, `${path}{}`));
  }
  return visits;
}

/** Every object key anywhere in a JSON value, with the path to it. */
function allKeys(value: unknown, path = ''): { key: string; path: string }[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => allKeys(item, `${path}[${index}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => [{ key, path }, ...allKeys(child, `${path}/${key}`)]);
}

interface Rule {
  readonly rule: string;
  readonly message?: string;
  readonly fieldPath?: string;
}

/** The fields a CEL rule reads: `self.a.b` -> ['a', 'b']; a trailing method call (`.size()`) is not a field. */
function celFieldPaths(rule: string): string[][] {
  const paths: string[][] = [];
  for (const match of rule.matchAll(/\bself((?:\.[A-Za-z_][A-Za-z0-9_]*)+)(\s*\()?/g)) {
    const segments = match[1]!.slice(1).split('.');
    if (match[2]) segments.pop();
    paths.push(segments);
  }
  return paths;
}

function resolveField(node: JsonSchema, segments: readonly string[]): JsonSchema | undefined {
  let current: JsonSchema | undefined = node;
  for (const segment of segments) {
    current = (current?.properties as Record<string, JsonSchema> | undefined)?.[segment];
  }
  return current;
}

const crd = crdManifest();
const version = crd.spec.versions[0]!;
const schema = version.schema.openAPIV3Schema;
const properties = schema.properties as Record<string, JsonSchema>;
const specSchema = properties.spec!;
const statusSchema = properties.status!;

// ---------------------------------------------------------------- CRD

describe('CustomResourceDefinition', () => {
  it('is a valid apiextensions.k8s.io/v1 object', () => {
    const model = new CustomResourceDefinition(structuredClone(crd) as unknown as ConstructorParameters<typeof CustomResourceDefinition>[0]);
    expect(() => model.validate()).not.toThrow();
  });

  it('names the TelemetryStack API', () => {
    expect(crd.metadata.name).toBe(CRD_NAME);
    expect(crd.spec.group).toBe(API_GROUP);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names).toMatchObject({ kind: KIND, shortNames: ['tstack'], categories: ['telemetry'] });
    expect(crd.spec.versions).toHaveLength(1);
    expect(version).toMatchObject({ name: 'v1alpha1', served: true, storage: true });
    expect(crd.metadata.labels).toEqual({
      'app.kubernetes.io/name': 'telemetry-stack',
      'app.kubernetes.io/part-of': 'telemetry-stack',
    });
  });

  it('has the status subresource and the printer columns', () => {
    expect(version.subresources).toEqual({ status: {} });
    const columns = Object.fromEntries(version.additionalPrinterColumns.map((c) => [c.name, c]));
    expect(Object.keys(columns)).toEqual(['Ready', 'Reason', 'Level', 'Users', 'Age']);
    expect(columns.Ready).toMatchObject({ type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' });
    expect(columns.Reason).toMatchObject({ type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].reason' });
    expect(columns.Level).toMatchObject({ type: 'string', jsonPath: '.spec.level' });
    expect(columns.Users).toMatchObject({ type: 'integer', jsonPath: '.status.users' });
    expect(columns.Age).toMatchObject({ type: 'date', jsonPath: '.metadata.creationTimestamp' });
    // Each column reads a field the schema declares.
    for (const path of ['.spec.level', '.status.users']) {
      expect(resolveField(schema, path.slice(1).split('.')), path).toBeDefined();
    }
  });

  it('is deterministic', () => {
    expect(JSON.stringify(crdManifest())).toBe(JSON.stringify(crd));
    expect(JSON.stringify(editorJsonSchema())).toBe(JSON.stringify(editorJsonSchema()));
  });
});

describe('openAPIV3Schema is structural', () => {
  const visits = walk(schema);

  it('gives every node a type', () => {
    const untyped = visits.filter(
      ({ node }) =>
        typeof node.type !== 'string' &&
        node['x-kubernetes-int-or-string'] !== true &&
        node['x-kubernetes-preserve-unknown-fields'] !== true,
    );
    expect(untyped.map((v) => v.path)).toEqual([]);
  });

  it('has no additionalProperties: false and never both properties and additionalProperties', () => {
    expect(visits.filter(({ node }) => node.additionalProperties === false).map((v) => v.path)).toEqual([]);
    expect(visits.filter(({ node }) => 'properties' in node && 'additionalProperties' in node).map((v) => v.path)).toEqual([]);
  });

  it('has no references, schema identifiers or unsupported keywords anywhere', () => {
    const forbidden = new Set(['$ref', '$defs', 'definitions', '$schema', '$id', 'id', 'const', 'propertyNames', 'uniqueItems', 'examples']);
    // Field names are keys too; only schema keywords matter, so look at keys outside `properties` maps and defaults.
    const keywords = visits.flatMap(({ node, path }) =>
      Object.keys(node)
        .filter((key) => key !== 'properties')
        .map((key) => ({ key, path })),
    );
    expect(keywords.filter(({ key }) => forbidden.has(key))).toEqual([]);
    expect(JSON.stringify(schema)).not.toContain('$ref');
  });

  it('uses only formats Kubernetes knows', () => {
    const known = new Set(['int32', 'int64', 'float', 'double', 'byte', 'date', 'date-time', 'email', 'uri', 'uuid', 'hostname', 'ipv4', 'ipv6', 'cidr', 'password']);
    expect(visits.filter(({ node }) => typeof node.format === 'string' && !known.has(node.format))).toEqual([]);
  });

  it('has patterns the API server (RE2) compiles', () => {
    for (const { node, path } of visits) {
      if (typeof node.pattern === 'string') expect(() => RE2JS.compile(node.pattern as string), path).not.toThrow();
    }
  });

  it('keeps the list types zod metadata declares', () => {
    const lists = Object.fromEntries(
      visits.filter(({ node }) => node.type === 'array').map(({ node, path }) => [path, [node['x-kubernetes-list-type'], node['x-kubernetes-list-map-keys']]]),
    );
    expect(lists).toMatchObject({
      'spec.sanitizer.disabledPresets': ['set', undefined],
      'spec.sanitizer.rules': ['map', ['name']],
      'spec.sanitizer.rules[].targets': ['set', undefined],
      'spec.access.users': ['map', ['name']],
      'status.conditions': ['map', ['type']],
    });
    // A map list's keys must be required (or defaulted) in its items.
    for (const { node, path } of visits) {
      for (const key of (node['x-kubernetes-list-map-keys'] as string[] | undefined) ?? []) {
        expect((node.items as JsonSchema).required, `${path} map key ${key}`).toContain(key);
      }
    }
  });

  it('keeps z.record maps as additionalProperties with a type', () => {
    const record = structuralSchemaOf(z.object({ labels: z.record(z.string(), z.string()).describe('Labels.') }).strict());
    expect((record.properties as Record<string, JsonSchema>).labels).toEqual({
      description: 'Labels.',
      type: 'object',
      additionalProperties: { type: 'string' },
    });
  });
});

describe('documentation and CEL', () => {
  it('describes every field under spec and status', () => {
    const undocumented = [...walk(specSchema, 'spec'), ...walk(statusSchema, 'status')]
      // The items of a list of scalars are described by the list.
      .filter(({ node, path }) => !(path.endsWith('[]') && node.type !== 'object'))
      .filter(({ node }) => typeof node.description !== 'string' || node.description.trim() === '');
    expect(undocumented.map((v) => v.path)).toEqual([]);
  });

  const rules = walk(schema).flatMap(({ node, path }) =>
    ((node['x-kubernetes-validations'] as Rule[] | undefined) ?? []).map((rule) => ({ rule, node, path })),
  );

  it('has the cross-field rules from zod and the metadata.name rules at the root', () => {
    expect(rules.length).toBeGreaterThanOrEqual(10);
    const root = rules.filter(({ path }) => path === '').map(({ rule }) => rule.rule);
    expect(root).toEqual([
      `self.metadata.name.size() <= ${MAX_STACK_NAME_LENGTH}`,
      `self.metadata.name.matches('${STACK_NAME_PATTERN.source}')`,
    ]);
    // The pattern CEL's matches() sees is RE2 and means what the zod pattern means.
    const re2 = RE2JS.compile(STACK_NAME_PATTERN.source);
    for (const name of ['telemetry', 'team-a', 'a1']) expect(re2.matches(name), name).toBe(true);
    for (const name of ['1team', 'team-', 'Team', 'team_a', '-a']) expect(re2.matches(name), name).toBe(false);
  });

  it('gives every rule a message, and a fieldPath that exists', () => {
    for (const { rule, node, path } of rules) {
      expect(rule.message?.trim(), `${path}: ${rule.rule}`).toBeTruthy();
      if (rule.fieldPath !== undefined) {
        expect(resolveField(node, rule.fieldPath.slice(1).split('.')), `${path}: fieldPath ${rule.fieldPath}`).toBeDefined();
      }
    }
  });

  it('stays within the CEL cost budget: bounded arrays, bounded strings under rules', () => {
    const unbounded = walk(schema).filter(({ node }) => node.type === 'array' && typeof node.maxItems !== 'number');
    expect(unbounded.map((v) => v.path)).toEqual([]);
    for (const { rule, node, path } of rules) {
      for (const segments of celFieldPaths(rule.rule)) {
        // metadata is the API server's (name is at most 253 characters by its own validation).
        if (path === '' && segments[0] === 'metadata') continue;
        const field = resolveField(node, segments);
        expect(field, `${path}: ${rule.rule} reads self.${segments.join('.')}, which the schema does not declare`).toBeDefined();
        if (field?.type === 'string') {
          expect(typeof field.maxLength === 'number' || Array.isArray(field.enum), `${path}.${segments.join('.')} is read by CEL and must be bounded`).toBe(true);
        }
      }
    }
  });

  it('fills every default a rule sees, so the API server accepts the defaults when the CRD is created', () => {
    // The API server checks each default against the rules at its level without defaulting inside it first.
    for (const { rule, node, path } of rules) {
      if (!('default' in node)) continue;
      for (const segments of celFieldPaths(rule.rule)) {
        const guarded = rule.rule.includes(`has(self.${segments.join('.')})`);
        const defaulted = resolveField(node, segments)?.default !== undefined;
        if (guarded || !defaulted) continue;
        let value: unknown = node.default;
        for (const segment of segments) value = (value as Record<string, unknown> | undefined)?.[segment];
        expect(value, `${path}.default lacks ${segments.join('.')} read by ${rule.rule}`).toBeDefined();
      }
    }
    // And the spec's default is what zod makes of an empty spec, less the images (below).
    const expected = TelemetryStackSpec.parse({});
    const { image: _collectorImage, ...collector } = expected.collector;
    const { image: _clickhouseImage, ...clickhouse } = expected.clickhouse;
    const { image: _grafanaImage, ...grafana } = expected.grafana;
    expect(specSchema.default).toEqual({ ...expected, collector, clickhouse, grafana });
  });

  it('does not persist image defaults (an operator upgrade must bring its new default images), but documents them', () => {
    const spec = (crdSchema().properties as Record<string, JsonSchema>).spec!;
    for (const component of ['collector', 'clickhouse']) {
      const image = resolveField(spec, [component, 'image'])!;
      expect(image.default, component).toBeUndefined();
      expect(String(image.description)).toContain(String(TelemetryStackSpec.parse({})[component as 'collector'].image));
    }
    expect(JSON.stringify(crdSchema())).not.toContain('x-telemetrystack');
    expect(JSON.stringify(editorJsonSchema())).not.toContain('x-telemetrystack');
  });
});

// ---------------------------------------------------------------- fix-ups of zod output

describe('structuralSchemaOf fixes up what zod emits', () => {
  it('inlines $ref for schemas with a meta id', () => {
    const Inner = z.object({ a: z.string().max(3).describe('A.') }).strict().meta({ id: 'Inner' }).describe('Inner.');
    const out = structuralSchemaOf(z.object({ x: Inner, y: Inner.optional() }).strict());
    expect(JSON.stringify(out)).not.toContain('$ref');
    const props = out.properties as Record<string, JsonSchema>;
    expect(props.x).toMatchObject({ type: 'object', properties: { a: { type: 'string', maxLength: 3 } } });
    expect(props.y).toMatchObject({ type: 'object', properties: { a: { type: 'string', maxLength: 3 } } });
  });

  it('refuses recursive schemas', () => {
    const Node: z.ZodType = z.lazy(() => z.object({ children: z.array(Node).max(2) }).strict());
    expect(() => structuralSchemaOf(z.object({ root: Node }).strict())).toThrow(/recursive|refers to itself/);
  });

  it('carries regex flags as an inline group instead of dropping them', () => {
    const out = structuralSchemaOf(z.object({ a: z.string().max(8).regex(/^ab$/i) }).strict());
    const pattern = ((out.properties as Record<string, JsonSchema>).a!.pattern) as string;
    expect(pattern).toBe('(?i:^ab$)');
    expect(RE2JS.compile(pattern).matches('AB')).toBe(true);
  });

  it('rejects patterns RE2 cannot run, naming the field', () => {
    expect(() => structuralSchemaOf(z.object({ token: z.string().regex(/^(?!x)a$/) }).strict())).toThrow(/token: pattern .* RE2/);
  });

  it('turns unions of literals into an enum and integer|string into int-or-string', () => {
    const out = structuralSchemaOf(
      z.object({ mode: z.union([z.literal('a'), z.literal('b')]), port: z.union([z.int(), z.string()]) }).strict(),
    );
    const props = out.properties as Record<string, JsonSchema>;
    expect(props.mode).toEqual({ type: 'string', enum: ['a', 'b'] });
    expect(props.port).toEqual({ 'x-kubernetes-int-or-string': true });
  });

  it('refuses other unions', () => {
    expect(() => structuralSchemaOf(z.object({ v: z.union([z.string(), z.boolean()]) }).strict())).toThrow(/v: .*union/);
  });

  it('keeps unknown fields of loose objects and drops additionalProperties: false of strict ones', () => {
    const out = structuralSchemaOf(z.object({ loose: z.looseObject({ a: z.string().optional() }), any: z.unknown() }).strict());
    const props = out.properties as Record<string, JsonSchema>;
    expect(out).not.toHaveProperty('additionalProperties');
    expect(props.loose).toMatchObject({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true });
    expect(props.loose).not.toHaveProperty('additionalProperties');
    expect(props.any).toEqual({ 'x-kubernetes-preserve-unknown-fields': true });
  });

  it('drops zod\'s safe-integer bounds and formats Kubernetes does not know, keeping their pattern', () => {
    const out = structuralSchemaOf(z.object({ n: z.number().int(), id: z.nanoid(), e: z.email() }).strict());
    const props = out.properties as Record<string, JsonSchema>;
    expect(props.n).toEqual({ type: 'integer' });
    expect(props.id).not.toHaveProperty('format');
    expect(props.id).toHaveProperty('pattern');
    expect(props.e).toMatchObject({ format: 'email' });
    // zod's ISO 8601 duration pattern uses look-ahead, which the API server cannot run.
    expect(() => structuralSchemaOf(z.object({ d: z.iso.duration() }).strict())).toThrow(/d: pattern .* RE2/);
  });

  it('strips the type zod repeats inside allOf for stacked patterns', () => {
    const out = structuralSchemaOf(z.object({ s: z.string().max(9).regex(/^a/).regex(/b$/) }).strict());
    const s = (out.properties as Record<string, JsonSchema>).s!;
    expect(s.allOf).toEqual([{ pattern: '^a' }, { pattern: 'b$' }]);
  });
});

// ---------------------------------------------------------------- editor JSON schema

describe('editor JSON schema', () => {
  const editor = editorJsonSchema();
  const defs = editor.$defs as Record<string, JsonSchema>;

  it('is a draft 2020-12 schema that accepts a resource or a bare spec, told apart by kind', () => {
    expect(editor.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(editor.$id).toBe(EDITOR_SCHEMA_ID);
    expect(editor.title).toBe(KIND);
    expect(editor.description).toEqual(expect.any(String));
    expect(editor.if).toEqual({ required: ['kind'] });
    expect(editor.then).toEqual({ $ref: '#/$defs/TelemetryStack' });
    expect(editor.else).toEqual({ $ref: '#/$defs/TelemetryStackSpec' });
  });

  it('describes the resource form with constant apiVersion and kind, a named metadata and the spec', () => {
    const stack = defs.TelemetryStack!;
    const props = stack.properties as Record<string, JsonSchema>;
    expect(props.apiVersion).toMatchObject({ const: 'telemetrystack.io/v1alpha1' });
    expect(props.kind).toMatchObject({ const: KIND });
    expect(props.metadata).toMatchObject({ required: ['name'], properties: { name: { maxLength: MAX_STACK_NAME_LENGTH } } });
    expect(props.spec).toEqual({ $ref: '#/$defs/TelemetryStackSpec' });
    expect(stack.required).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(stack.additionalProperties).toBe(false);
  });

  it('uses the zod spec schema, with unknown fields flagged and no Kubernetes extensions', () => {
    const fromZod = z.toJSONSchema(TelemetryStackSpec, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
    const strip = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(strip);
      if (typeof value !== 'object' || value === null) return value;
      const node = value as JsonSchema;
      return Object.fromEntries(
        Object.entries(node)
          .filter(([key]) => !key.startsWith('x-kubernetes-') && key !== '$schema' && key !== OPERATOR_DEFAULT)
          // zod's safe-integer range is not a limit of the API.
          .filter(([key, v]) => !(node.type === 'integer' && ((key === 'minimum' && v === -Number.MAX_SAFE_INTEGER) || (key === 'maximum' && v === Number.MAX_SAFE_INTEGER))))
          .map(([key, v]) => [key, strip(v)]),
      );
    };
    expect(defs.TelemetryStackSpec).toEqual(strip(fromZod));
    expect(defs.TelemetryStackSpec!.additionalProperties).toBe(false);
    expect(allKeys(editor).filter(({ key }) => key.startsWith('x-kubernetes-'))).toEqual([]);
  });

  it('resolves every $ref inside the document', () => {
    for (const { key, path } of allKeys(editor)) {
      if (key !== '$ref') continue;
      const ref = path.split('/').reduce<unknown>((node, part) => (part ? (node as Record<string, unknown>)[part] : node), editor);
      const target = String((ref as JsonSchema).$ref);
      expect(target.startsWith('#/$defs/') && target.slice('#/$defs/'.length) in defs, `${path}: ${target}`).toBe(true);
    }
  });

  it('matches what the resource schema in zod accepts, field for field', () => {
    const fromZod = z.toJSONSchema(TelemetryStackResource, { io: 'input', target: 'draft-2020-12' }) as JsonSchema;
    expect(Object.keys(defs.TelemetryStack!.properties as object)).toEqual(Object.keys(fromZod.properties as object));
  });
});

// ---------------------------------------------------------------- committed files

describe('generated files', () => {
  it('are committed exactly as npm run generate writes them', () => {
    for (const artifact of ARTIFACTS) {
      const file = join(REPO_ROOT, artifact.path);
      expect(existsSync(file), `${artifact.path} is missing: run npm run generate`).toBe(true);
      expect(readFileSync(file, 'utf8'), `${artifact.path} is stale: run npm run generate and commit`).toBe(artifact.render());
    }
  });

  it('hold crdManifest() and editorJsonSchema() under a "do not edit" notice', () => {
    const yamlText = readFileSync(join(REPO_ROOT, 'crds/telemetrystack.yaml'), 'utf8');
    expect(yamlText.split('\n')[0]).toBe(`# ${GENERATED_NOTICE}`);
    expect(YAML.parse(yamlText)).toEqual(crdManifest());
    // kubectl reads YAML 1.1.
    expect(YAML.parse(yamlText, { version: '1.1' })).toEqual(crdManifest());
    expect(YAML.parse(yamlText).spec.versions[0].schema.openAPIV3Schema).toEqual(crdSchema());

    const json = JSON.parse(readFileSync(join(REPO_ROOT, 'schema/telemetrystack.schema.json'), 'utf8')) as JsonSchema;
    const { $comment, ...rest } = json;
    expect($comment).toBe(GENERATED_NOTICE);
    expect(rest).toEqual(editorJsonSchema());
  });

  it('report a stale or missing file with the fix', () => {
    const root = mkdtempSync(join(tmpdir(), 'telemetry-stack-generate-'));
    try {
      const [first, ...others] = ARTIFACTS;
      mkdirSync(dirname(join(root, first!.path)), { recursive: true });
      writeFileSync(join(root, first!.path), `${first!.render()}# hand edit\n`);
      expect(staleArtifacts(root, ARTIFACTS)).toEqual([
        { path: first!.path, reason: 'differs' },
        ...others.map((artifact) => ({ path: artifact.path, reason: 'missing' })),
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('pass `generate --check`', () => {
    // The script runs as TypeScript, which needs Node >= 22.18; fall back to the project's pinned Node.
    const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
    const node = major > 22 || (major === 22 && minor >= 18) ? process.execPath : join(REPO_ROOT, 'node_modules/.bin/node');
    const result = spawnSync(node, ['scripts/generate.ts', '--check'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('up to date');
  });
});
