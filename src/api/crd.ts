/**
 * The CustomResourceDefinition and the editor JSON schema, generated from the zod API so
 * that the two cannot drift from what `synth` and the operator accept. Pure and
 * deterministic: scripts/generate.ts writes the results to crds/ and schema/, and a test
 * fails when the committed copies are stale.
 *
 * zod's JSON Schema output is close to, but not, a Kubernetes structural schema; the
 * fix-ups live in `structuralSchemaOf` and each one says why. Anything zod emits that a
 * CRD cannot express fails generation with the field path rather than being dropped.
 */
import { z } from 'zod';
import { RE2JS } from 're2js';
import {
  API_GROUP,
  API_GROUP_VERSION,
  API_VERSION,
  CRD_NAME,
  KIND,
  LIST_KIND,
  MAX_STACK_NAME_LENGTH,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
} from './constants.ts';
import { STACK_NAME_PATTERN, TelemetryStackResource } from './resource.ts';
import { OPERATOR_DEFAULT, TelemetryStackSpec } from './spec.ts';
import { TelemetryStackStatus } from './status.ts';

/** A JSON Schema (or OpenAPI schema) node. */
export type JsonSchema = { [keyword: string]: unknown };

export const EDITOR_SCHEMA_ID = 'https://telemetrystack.io/schema/telemetrystack.schema.json';

// ---------------------------------------------------------------- zod -> JSON Schema

type Target = 'openapi-3.0' | 'draft-2020-12';

function zodJsonSchema(schema: z.ZodType, target: Target): JsonSchema {
  // io: 'input' so that fields with defaults are optional, as they are for a person writing a stack.
  return z.toJSONSchema(schema, { io: 'input', target, override: inlineRegexFlags }) as unknown as JsonSchema;
}

/**
 * zod writes `regex.source` and drops the flags, so /x/i would become a case-sensitive
 * pattern. Carry i, m and s as an inline modifier group, which RE2 (the API server) and
 * ECMAScript 2025 (editors) both read; g, y, d, u and v do not change what matches.
 */
function inlineRegexFlags(ctx: { zodSchema: z.core.$ZodTypes; jsonSchema: z.core.JSONSchema.BaseSchema }): void {
  const zod = ctx.zodSchema._zod;
  const own = zod.traits.has('$ZodCheck') ? [ctx.zodSchema as unknown as z.core.$ZodCheck] : [];
  const rewritten = new Map<string, string>();
  for (const check of [...own, ...(zod.def.checks ?? [])]) {
    const def = check._zod.def as { check?: string; pattern?: unknown };
    if (def.check === 'string_format' && def.pattern instanceof RegExp) {
      const modifiers = [...def.pattern.flags].filter((flag) => 'ims'.includes(flag)).join('');
      if (modifiers) rewritten.set(def.pattern.source, `(?${modifiers}:${def.pattern.source})`);
    }
  }
  if (rewritten.size === 0) return;
  const json = ctx.jsonSchema as JsonSchema;
  for (const node of [json, ...(Array.isArray(json.allOf) ? (json.allOf as JsonSchema[]) : [])]) {
    if (typeof node.pattern === 'string') node.pattern = rewritten.get(node.pattern) ?? node.pattern;
  }
}

// ---------------------------------------------------------------- walking schemas

const SCHEMA_KEYS = new Set(['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames']);
const SCHEMA_LIST_KEYS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMA_MAP_KEYS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Returns a copy of `node` with `fn` applied to each direct subschema. `where` names the
 * child for error messages: a property name, "[]" for items, or the keyword.
 */
function mapSubschemas(node: JsonSchema, fn: (child: JsonSchema, keyword: string, where: string) => JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (SCHEMA_KEYS.has(key) && isObject(value)) {
      out[key] = fn(value, key, key === 'items' ? '[]' : key);
    } else if (SCHEMA_LIST_KEYS.has(key) && Array.isArray(value)) {
      out[key] = value.map((child: JsonSchema, index) => fn(child, key, `${key}[${index}]`));
    } else if (SCHEMA_MAP_KEYS.has(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [name, fn(child as JsonSchema, key, key === 'properties' ? name : `${key}.${name}`)]),
      );
    } else {
      out[key] = value;
    }
  }
  return out;
}

function childPath(path: string, where: string): string {
  if (where === '[]') return `${path}[]`;
  return path ? `${path}.${where}` : where;
}

/** Key order for readable, stable output: description and type first, the rest in code-unit order. */
function ordered(node: JsonSchema): JsonSchema {
  const rank = (key: string) => (key === 'description' ? 0 : key === 'type' ? 1 : 2);
  const keys = Object.keys(node).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(keys.map((key) => [key, node[key]]));
}

function dropSafeIntegerBounds(node: JsonSchema): void {
  // z.number().int() emits ±Number.MAX_SAFE_INTEGER; that is zod's range, not an API limit.
  if (node.minimum === -Number.MAX_SAFE_INTEGER) delete node.minimum;
  if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
}

// ---------------------------------------------------------------- $ref inlining

function resolvePointer(root: JsonSchema, ref: string, path: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`${path || '(root)'}: cannot inline the non-local $ref "${ref}"`);
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[part] : undefined;
  }
  if (!isObject(node)) throw new Error(`${path || '(root)'}: $ref "${ref}" does not resolve`);
  return node;
}

/** Inlines every $ref (zod emits them for schemas with a meta id); a CRD schema has no references. */
function inlineRefs(node: JsonSchema, root: JsonSchema, path: string, resolving: readonly string[]): JsonSchema {
  if (typeof node.$ref === 'string') {
    const ref = node.$ref;
    if (resolving.includes(ref)) {
      throw new Error(`${path || '(root)'}: ${ref} refers to itself; a CRD schema cannot be recursive, so bound the nesting in zod`);
    }
    const { $ref: _ref, ...siblings } = node;
    return inlineRefs({ ...resolvePointer(root, ref, path), ...siblings }, root, path, [...resolving, ref]);
  }
  // zod wraps a referenced schema that gains its own keywords (optional, describe) in a one-member allOf.
  if (Array.isArray(node.allOf) && node.allOf.length === 1 && isObject(node.allOf[0]) && '$ref' in node.allOf[0]) {
    const { allOf, ...siblings } = node;
    return inlineRefs({ ...(allOf as JsonSchema[])[0], ...siblings }, root, path, resolving);
  }
  return mapSubschemas(node, (child, keyword, where) =>
    keyword === '$defs' || keyword === 'definitions' ? child : inlineRefs(child, root, childPath(path, where), resolving),
  );
}

// ---------------------------------------------------------------- structural schema

/** The keywords of apiextensions.k8s.io/v1 JSONSchemaProps that zod can emit (plus x-kubernetes-*). */
const OPENAPI_KEYWORDS = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'nullable',
  'enum',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'multipleOf',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'properties',
  'additionalProperties',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'example',
  'externalDocs',
]);

/** Keywords allowed inside allOf/anyOf/oneOf/not of a structural schema: value validations only. */
const VALUE_VALIDATIONS = new Set([
  'enum',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'multipleOf',
  'maxLength',
  'minLength',
  'pattern',
  'format',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'required',
]);

/**
 * Formats Kubernetes validates, by type. Others are dropped (zod also emits a pattern for
 * them, which stays). Not "duration": Kubernetes means a Go duration ("1h30m") and
 * treats the field as a CEL duration, while zod means ISO 8601 ("PT1H30M").
 */
const KUBERNETES_FORMATS: Readonly<Record<string, ReadonlySet<string>>> = {
  string: new Set([
    'bsonobjectid',
    'uri',
    'email',
    'hostname',
    'ipv4',
    'ipv6',
    'cidr',
    'mac',
    'uuid',
    'uuid3',
    'uuid4',
    'uuid5',
    'isbn',
    'isbn10',
    'isbn13',
    'creditcard',
    'ssn',
    'hexcolor',
    'rgbcolor',
    'byte',
    'password',
    'date',
    'date-time',
  ]),
  integer: new Set(['int32', 'int64']),
  number: new Set(['float', 'double', 'int32', 'int64']),
};

function fail(path: string, message: string): never {
  throw new Error(`${path || '(root)'}: ${message}`);
}

/** The API server checks `pattern` with Go's regexp (RE2): no look-around, no back-references. */
function checkRe2(pattern: unknown, path: string): void {
  if (typeof pattern !== 'string') return;
  try {
    RE2JS.compile(pattern);
  } catch (error) {
    fail(path, `pattern ${JSON.stringify(pattern)} is not valid RE2, so the API server would reject the CRD: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Rewrites the unions zod emits that a structural schema can express; anything else fails. */
function unionToStructural(node: JsonSchema, path: string): void {
  for (const keyword of ['anyOf', 'oneOf'] as const) {
    const members = node[keyword];
    if (!Array.isArray(members)) continue;
    const branches = (members as JsonSchema[]).map((member) => {
      const copy = { ...member };
      dropSafeIntegerBounds(copy);
      return copy;
    });
    const types = new Set(branches.map((branch) => branch.type));
    const only = (branch: JsonSchema, allowed: readonly string[]) => Object.keys(branch).every((key) => allowed.includes(key));
    if (types.size === 1 && branches.every((branch) => Array.isArray(branch.enum) && only(branch, ['type', 'enum']))) {
      // z.union of literals: one enum.
      delete node[keyword];
      node.type = branches[0]!.type;
      node.enum = branches.flatMap((branch) => branch.enum as unknown[]);
    } else if (types.size === 2 && types.has('integer') && types.has('string') && branches.every((branch) => only(branch, ['type']))) {
      delete node[keyword];
      node['x-kubernetes-int-or-string'] = true;
    } else {
      fail(path, `zod emitted ${keyword} (a union), which a structural schema cannot express; use z.enum, optional fields with a CEL rule, or integer|string`);
    }
  }
}

function inferType(node: JsonSchema, path: string): void {
  if (node['x-kubernetes-int-or-string'] === true || node['x-kubernetes-preserve-unknown-fields'] === true) return;
  if (isObject(node.properties) || isObject(node.additionalProperties)) {
    node.type = 'object';
  } else if (isObject(node.items)) {
    node.type = 'array';
  } else if (Array.isArray(node.enum) && node.enum.length > 0) {
    const kinds = new Set(node.enum.map((value) => (Number.isInteger(value) ? 'integer' : typeof value)));
    const [kind] = kinds;
    if (kinds.size !== 1 || !['string', 'integer', 'number', 'boolean'].includes(kind!)) fail(path, 'enum mixes value types');
    node.type = kind;
  } else if (Object.keys(node).every((key) => key === 'description' || key === 'default' || key === 'title')) {
    // z.unknown()/z.any(): any JSON value, kept as is.
    node['x-kubernetes-preserve-unknown-fields'] = true;
  } else {
    fail(path, `zod emitted no type and none can be inferred from ${JSON.stringify(Object.keys(node))}`);
  }
}

function valueValidation(input: JsonSchema, parentType: unknown, path: string): JsonSchema {
  const node = { ...input };
  // zod repeats the type in each allOf member of stacked patterns (openapi-3.0); structural schemas forbid it there.
  if (node.type === parentType) delete node.type;
  for (const key of Object.keys(node)) {
    if (!VALUE_VALIDATIONS.has(key)) fail(path, `"${key}" inside allOf/anyOf/oneOf/not is not allowed in a structural schema`);
  }
  checkRe2(node.pattern, path);
  return ordered(node);
}

function structural(input: JsonSchema, path: string): JsonSchema {
  const node: JsonSchema = { ...input };
  // The API server persists CRD defaults into each object. For these fields (pinned images)
  // that would freeze a stack on the version it was created with, so the default is applied
  // by the operator at reconcile time instead, and only documented in the CRD.
  if (node[OPERATOR_DEFAULT] === true) {
    delete node.default;
    delete node[OPERATOR_DEFAULT];
  }
  // Schema identifiers and annotations that JSONSchemaProps does not have.
  for (const key of ['$schema', '$id', 'id', '$comment', '$defs', 'definitions', 'examples', 'contentEncoding', 'contentMediaType']) {
    delete node[key];
  }
  if ('const' in node) {
    node.enum = [node.const];
    delete node.const;
  }
  if ('propertyNames' in node) {
    // z.record(z.string(), ...): map keys are strings anyway. A constrained key cannot be expressed.
    const names = node.propertyNames;
    if (!isObject(names) || Object.keys(names).some((key) => key !== 'type') || names.type !== 'string') {
      fail(path, 'z.record keys cannot be constrained in a CRD (no propertyNames); use z.string() keys and a CEL rule');
    }
    delete node.propertyNames;
  }
  unionToStructural(node, path);

  // Structural schemas forbid additionalProperties: false (pruning drops unknown fields instead),
  // and forbid properties together with additionalProperties.
  const additional = node.additionalProperties;
  if (additional === false) {
    delete node.additionalProperties;
  } else if (additional === true || (isObject(additional) && Object.keys(additional).length === 0)) {
    // z.looseObject / z.record(z.string(), z.unknown()): keep unknown fields.
    delete node.additionalProperties;
    node['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (isObject(additional) && isObject(node.properties)) {
    fail(path, 'an object with both properties and a catchall schema cannot be structural');
  }

  if (node.type === 'integer') dropSafeIntegerBounds(node);
  if (node.type === undefined) inferType(node, path);
  if (typeof node.format === 'string' && !KUBERNETES_FORMATS[String(node.type)]?.has(node.format)) delete node.format;
  if (node.uniqueItems === false) delete node.uniqueItems;
  checkRe2(node.pattern, path);

  for (const key of Object.keys(node)) {
    if (!OPENAPI_KEYWORDS.has(key) && !key.startsWith('x-kubernetes-')) {
      fail(path, `zod emitted "${key}", which a CRD schema cannot carry`);
    }
  }
  const parentType = node.type;
  return ordered(
    mapSubschemas(node, (child, keyword, where) =>
      keyword === 'properties' || keyword === 'items' || keyword === 'additionalProperties'
        ? structural(child, childPath(path, where))
        : valueValidation(child, parentType, childPath(path, where)),
    ),
  );
}

/**
 * Fills a default value with the defaults of the fields it leaves out, as the API server's
 * recursive defaulting would. Needed where a default meets CEL rules: the API server checks
 * each default against the rules at its level before defaulting inside it, so zod's
 * `.prefault({})` as `default: {}` under a rule such as `self.nodePorts.otlpGrpc != ...`
 * would fail with "no such key" when the CRD is created.
 */
function applyDefaults(value: unknown, schema: JsonSchema): unknown {
  if (Array.isArray(value) && isObject(schema.items)) {
    const items = schema.items;
    return value.map((item) => applyDefaults(item, items));
  }
  if (isObject(value) && isObject(schema.properties)) {
    const out: JsonSchema = { ...value };
    for (const [name, property] of Object.entries(schema.properties as Record<string, JsonSchema>)) {
      if (name in out) out[name] = applyDefaults(out[name], property);
      else if ('default' in property) out[name] = applyDefaults(structuredClone(property.default), property);
    }
    return out;
  }
  return value;
}

function withFilledDefaults(node: JsonSchema): JsonSchema {
  const out = mapSubschemas(node, (child, keyword) =>
    keyword === 'properties' || keyword === 'items' ? withFilledDefaults(child) : child,
  );
  // Elsewhere `default: {}` is kept: the API server fills it in the same way, and the CRD stays short.
  if ('default' in out && 'x-kubernetes-validations' in out) out.default = applyDefaults(out.default, out);
  return out;
}

/** A zod schema as a Kubernetes structural schema (the fix-ups are described above). */
export function structuralSchemaOf(schema: z.ZodType): JsonSchema {
  const raw = zodJsonSchema(schema, 'openapi-3.0');
  return withFilledDefaults(structural(inlineRefs(raw, raw, '', []), ''));
}

// ---------------------------------------------------------------- CRD

/** A CEL string literal. */
function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The openAPIV3Schema of the TelemetryStack CRD. */
export function crdSchema(): JsonSchema {
  const spec = structuralSchemaOf(TelemetryStackSpec);
  return ordered({
    description:
      "TelemetryStack is a team's own telemetry stack for Claude Code: an OpenTelemetry Collector that authenticates, sanitizes and writes to ClickHouse, with retention and per-user access.",
    type: 'object',
    properties: {
      apiVersion: {
        description:
          'APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources',
        type: 'string',
      },
      kind: {
        description:
          'Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds',
        type: 'string',
      },
      metadata: { type: 'object' },
      // The spec is optional, as in zod (prefault({})): a TelemetryStack without one is a working local stack.
      spec: ordered({ ...spec, default: applyDefaults({}, spec) }),
      status: structuralSchemaOf(TelemetryStackStatus),
    },
    'x-kubernetes-validations': [
      {
        rule: `self.metadata.name.size() <= ${MAX_STACK_NAME_LENGTH}`,
        message: `metadata.name must be at most ${MAX_STACK_NAME_LENGTH} characters: the names of the stack's Services, StatefulSets and Secrets are derived from it`,
      },
      {
        rule: `self.metadata.name.matches(${celString(STACK_NAME_PATTERN.source)})`,
        message: 'metadata.name must start with a letter and contain only lower-case letters, digits and "-" (it prefixes Service names)',
      },
    ],
  });
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  readonly jsonPath: string;
  readonly description?: string;
  readonly priority?: number;
}

export interface CustomResourceDefinitionManifest {
  readonly apiVersion: 'apiextensions.k8s.io/v1';
  readonly kind: 'CustomResourceDefinition';
  readonly metadata: { readonly name: string; readonly labels: Readonly<Record<string, string>> };
  readonly spec: {
    readonly group: string;
    readonly names: {
      readonly kind: string;
      readonly listKind: string;
      readonly plural: string;
      readonly singular: string;
      readonly shortNames: readonly string[];
      readonly categories: readonly string[];
    };
    readonly scope: 'Namespaced';
    readonly versions: readonly {
      readonly name: string;
      readonly served: boolean;
      readonly storage: boolean;
      readonly schema: { readonly openAPIV3Schema: JsonSchema };
      readonly subresources: { readonly status: Record<string, never> };
      readonly additionalPrinterColumns: readonly PrinterColumn[];
    }[];
  };
}

const READY = '.status.conditions[?(@.type=="Ready")]';

/** The apiextensions.k8s.io/v1 CustomResourceDefinition for TelemetryStack. */
export function crdManifest(): CustomResourceDefinitionManifest {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: CRD_NAME,
      labels: {
        'app.kubernetes.io/name': 'telemetry-stack',
        'app.kubernetes.io/part-of': 'telemetry-stack',
      },
    },
    spec: {
      group: API_GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ['telemetry'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: API_VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: crdSchema() },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: `${READY}.status`, description: 'Whether the whole stack is ready.' },
            { name: 'Reason', type: 'string', jsonPath: `${READY}.reason`, description: 'Why the stack is or is not ready.' },
            { name: 'Level', type: 'string', jsonPath: '.spec.level', description: 'What is collected: basic, enhanced or full.' },
            { name: 'Users', type: 'integer', jsonPath: '.status.users', description: 'Number of users provisioned.' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  };
}

// ---------------------------------------------------------------- editor JSON schema

/** Editors do not know the Kubernetes extensions; zod's own annotations are dropped too. */
function forEditor(node: JsonSchema): JsonSchema {
  const out = mapSubschemas(node, (child) => forEditor(child));
  for (const key of Object.keys(out)) {
    if (key.startsWith('x-kubernetes-') || key === '$schema' || key === OPERATOR_DEFAULT) delete out[key];
  }
  if (out.type === 'integer') dropSafeIntegerBounds(out);
  return ordered(out);
}

/** Moves a generated schema's $defs into `into`, so its `#/$defs/...` references resolve from the document root. */
function hoistDefs(schema: JsonSchema, into: Record<string, JsonSchema>): JsonSchema {
  const { $defs, ...rest } = schema;
  for (const [name, def] of Object.entries(isObject($defs) ? $defs : {})) {
    if (name in into && JSON.stringify(into[name]) !== JSON.stringify(def)) throw new Error(`two different schemas are both named ${name}`);
    into[name] = def as JsonSchema;
  }
  return rest;
}

/**
 * The JSON schema (draft 2020-12) for stack files, for editors: either a full
 * TelemetryStack resource or a bare spec (what `telemetry-stack synth -f` and the Helm
 * values accept), told apart by `kind`. Unknown fields are errors here, so typos show.
 */
export function editorJsonSchema(): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  const spec = hoistDefs(forEditor(zodJsonSchema(TelemetryStackSpec, 'draft-2020-12')), defs);
  const resource = hoistDefs(forEditor(zodJsonSchema(TelemetryStackResource, 'draft-2020-12')), defs);
  const properties = resource.properties as Record<string, JsonSchema>;
  const stack: JsonSchema = {
    description: `A ${KIND} resource (apiVersion ${API_GROUP_VERSION}).`,
    ...resource,
    properties: { ...properties, spec: { $ref: '#/$defs/TelemetryStackSpec' } },
  };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: EDITOR_SCHEMA_ID,
    title: KIND,
    description: `A ${KIND} (apiVersion ${API_GROUP_VERSION}, kind ${KIND}) or a bare spec, as \`telemetry-stack synth -f\` and the Helm chart values accept. A document with \`kind\` is checked as the resource, any other as a spec.`,
    type: 'object',
    if: { required: ['kind'] },
    then: { $ref: '#/$defs/TelemetryStack' },
    else: { $ref: '#/$defs/TelemetryStackSpec' },
    $defs: { TelemetryStack: stack, TelemetryStackSpec: spec, ...defs },
  };
}
